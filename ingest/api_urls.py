from rest_framework.routers import SimpleRouter

from ingest.api import TargetViewSet

router = SimpleRouter()
router.register("targets", TargetViewSet, basename="target")

urlpatterns = router.urls
