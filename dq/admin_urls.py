from django.contrib import admin
from django.urls import path

from dq.admin_views import remediation_dashboard_view, remediation_stats_view

urlpatterns = [
    path(
        "remediation/",
        admin.site.admin_view(remediation_dashboard_view),
        name="dq_remediation_dashboard",
    ),
    path(
        "remediation/stats/",
        admin.site.admin_view(remediation_stats_view),
        name="dq_remediation_stats",
    ),
]
