from rest_framework.routers import SimpleRouter

from runs.api import RunViewSet

router = SimpleRouter()
router.register("runs", RunViewSet, basename="run")

urlpatterns = router.urls
