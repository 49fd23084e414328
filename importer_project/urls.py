from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from importer_project.metrics import metrics_view

api_v1 = [
    path("", include("runs.api_urls")),
    path("", include("dq.api_urls")),
    path("", include("ingest.api_urls")),
]

urlpatterns = [
    path("admin/imports/", include("dq.admin_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("metrics", metrics_view, name="prometheus-django-metrics"),
]

handler404 = "common.api_errors.not_found"
