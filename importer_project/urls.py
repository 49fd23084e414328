from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from common.api_root import ApiRootView
from runs.scrape import metrics_view

api_v1: list[URLPattern | URLResolver] = [
    path("", ApiRootView.as_view(), name="api-root"),
    path("", include("runs.api_urls")),
    path("", include("dq.api_urls")),
    path("", include("ingest.api_urls")),
]

urlpatterns = [
    # "/" and the admin's "View site" lead to the admin's dashboard.
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("admin/imports/", include("dq.admin_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("metrics", metrics_view, name="prometheus-django-metrics"),
]
