from django.contrib import admin
from django.urls import path

from dq.admin_views import remediation_stats_view

urlpatterns = [
    path(
        "remediation/stats/",
        admin.site.admin_view(remediation_stats_view),
        name="dq_remediation_stats",
    ),
]
