"""The REST API's routes under `/api/v1/`: one viewset per resource, each over the services."""

from rest_framework.routers import DefaultRouter

from web.api import billing as billing_api
from web.api import engagements as engagements_api
from web.api import sessions as sessions_api

router = DefaultRouter()
router.include_format_suffixes = False
router.register("clients", engagements_api.ClientViewSet, basename="client")
router.register("organizations", engagements_api.OrganizationViewSet, basename="organization")
router.register("contracts", engagements_api.ContractViewSet, basename="contract")
router.register("engagements", engagements_api.EngagementViewSet, basename="engagement")
router.register("collections", engagements_api.CollectionViewSet, basename="collection")
router.register("sessions", sessions_api.SessionViewSet, basename="session")
router.register(
    "availability/weekly-hours", sessions_api.WeeklyHoursViewSet, basename="weekly-hours"
)
router.register(
    "availability/overrides", sessions_api.DateOverrideViewSet, basename="date-override"
)
router.register("booking-links", sessions_api.BookingLinkViewSet, basename="booking-link")
router.register("offers", billing_api.OfferViewSet, basename="offer")
router.register("checkouts", billing_api.CheckoutViewSet, basename="checkout")
router.register("purchases", billing_api.PurchaseViewSet, basename="purchase")

app_name = "api"
urlpatterns = router.urls
