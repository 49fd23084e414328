from django.urls import path
from rest_framework.routers import SimpleRouter

from dq.api import RemediationStatsView, ViolationViewSet

router = SimpleRouter()
router.register("violations", ViolationViewSet, basename="violation")

urlpatterns = [
    path("remediation/stats/", RemediationStatsView.as_view(), name="remediation-stats"),
    *router.urls,
]
