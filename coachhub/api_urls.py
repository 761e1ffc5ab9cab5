from rest_framework.routers import DefaultRouter

from engagements import api as engagements_api

router = DefaultRouter()
router.include_format_suffixes = False
router.register("clients", engagements_api.ClientViewSet, basename="client")
router.register("organizations", engagements_api.OrganizationViewSet, basename="organization")
router.register("contracts", engagements_api.ContractViewSet, basename="contract")
router.register("engagements", engagements_api.EngagementViewSet, basename="engagement")
router.register("collections", engagements_api.CollectionViewSet, basename="collection")

app_name = "api"
urlpatterns = router.urls
