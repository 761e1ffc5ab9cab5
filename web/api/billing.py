"""REST API for offers, checkouts and purchases (under /api/v1/).

Thin views over the same services and selectors as the Offers and Purchases pages and
the public buy link: a checkout started here is refused for exactly the reasons the
buy link refuses it (the "packages only for new clients" policy, seat clients, an
offer no longer on sale, Stripe not connected).
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from billing import selectors, services
from billing.models import (
    OFFER_EDITABLE_FIELDS,
    Checkout,
    CheckoutStatus,
    Offer,
    OfferKind,
    Purchase,
)
from coachhub.links import absolute
from coachhub.models import User
from web.api.base import IdFilter, PracticeRelatedField, PracticeViewSet


# --- Offers --------------------------------------------------------------------------
class OfferSerializer(serializers.ModelSerializer):
    coach = PracticeRelatedField(User, required=False)
    buy_url = serializers.SerializerMethodField()
    credits_per_period = serializers.IntegerField(read_only=True)

    class Meta:
        model = Offer
        fields = [
            "id",
            "public_id",
            *OFFER_EDITABLE_FIELDS,
            "currency",
            "credits_per_period",
            "buy_url",
            "stripe_product_id",
            "stripe_price_id",
            "created_at",
        ]
        read_only_fields = [
            "public_id",
            "currency",
            "stripe_product_id",
            "stripe_price_id",
            "created_at",
        ]

    def get_buy_url(self, offer: Offer) -> str:
        return absolute(offer.get_absolute_url())


class OfferFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=OfferKind.choices)
    coach = IdFilter(field_name="coach_id")
    is_active = filters.BooleanFilter()


BUYER_EMAIL = OpenApiParameter(
    "buyer_email",
    OpenApiTypes.EMAIL,
    description=(
        "Only the offers this person may buy now: active ones, no single sessions for a new "
        "client when the practice sells packages only to new clients, none for a seat client."
    ),
)


@extend_schema_view(list=extend_schema(parameters=[BUYER_EMAIL]))
class OfferViewSet(PracticeViewSet):
    """What the practice sells. Creating or changing an offer also creates its Stripe
    Product and Price when Stripe is connected. Retire one with PATCH `is_active: false`."""

    model = Offer
    serializer_class = OfferSerializer
    write_ability = "offers.manage"
    filterset_class = OfferFilter
    ordering_fields = ["name", "price", "created_at"]
    ordering = ["kind", "price"]

    def practice_queryset(self):
        offers = Offer.objects.filter(practice=self.practice).select_related("practice")
        email = self.request.query_params.get("buyer_email", "").strip()
        if email and self.action == "list":
            try:
                email = forms.EmailField().clean(email)
            except DjangoValidationError as error:
                raise exceptions.ValidationError({"buyer_email": error.messages}) from None
            offers = selectors.offers_on_sale_to(offers, practice=self.practice, email=email)
        return offers

    def _save(self, serializer, offer=None):
        serializer.instance = services.offer_save(
            practice=self.practice,
            actor=self.request.user,
            offer=offer,
            **serializer.validated_data,
        )

    def perform_create(self, serializer):
        self._save(serializer)

    def perform_update(self, serializer):
        self._save(serializer, offer=serializer.instance)


# --- Checkouts -----------------------------------------------------------------------
class CheckoutSerializer(serializers.ModelSerializer):
    """A Stripe Checkout for one buyer: send them `url` (Stripe's hosted payment page)."""

    offer = PracticeRelatedField(Offer)
    url = serializers.CharField(
        read_only=True, help_text="Stripe's payment page; empty until Stripe has given one."
    )

    class Meta:
        model = Checkout
        fields = [
            "id",
            "public_id",
            "offer",
            "name",
            "email",
            "time_zone",
            "places",
            "status",
            "url",
            "expires_at",
            "created_at",
        ]
        read_only_fields = ["public_id", "status", "url", "expires_at", "created_at"]


class CheckoutFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=CheckoutStatus.choices)
    offer = IdFilter(field_name="offer_id")


class CheckoutViewSet(PracticeViewSet):
    """Start a checkout for a buyer (as the offer's buy link would) and follow its status.

    A refusal is a 400 whose `code` says why: `packages_only` (a new client asking for a
    single session where the practice sells packages only to new clients),
    `payments_not_connected`, `stripe_unavailable`, or `invalid`.
    """

    model = Checkout
    serializer_class = CheckoutSerializer
    filterset_class = CheckoutFilter
    http_method_names = ["get", "post", "head", "options"]
    ordering_fields = ["created_at", "expires_at"]
    ordering = ["-created_at"]

    def practice_queryset(self):
        return selectors.checkouts_visible_to(self.membership)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            checkout = services.checkout_start(
                offer=data["offer"],
                name=data["name"],
                email=data["email"],
                time_zone=data.get("time_zone", ""),
                places=data.get("places", 1),
            )
        except DjangoValidationError as error:
            code = getattr(error, "code", None) or "invalid"
            raise exceptions.ValidationError(
                {"detail": error.messages, "code": code}, code=code
            ) from None
        return Response(self.get_serializer(checkout).data, status=status.HTTP_201_CREATED)


# --- Purchases -----------------------------------------------------------------------
class PurchaseSerializer(serializers.ModelSerializer):
    offer_name = serializers.CharField(source="offer.name", read_only=True)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    credits_left = serializers.IntegerField(read_only=True)

    class Meta:
        model = Purchase
        fields = [
            "id",
            "public_id",
            "offer",
            "offer_name",
            "places",
            "client",
            "engagement",
            "status",
            "subscription_state",
            "current_period_end",
            "amount",
            "currency",
            "amount_refunded",
            "disputed",
            "credits_left",
            "paid_at",
        ]
        read_only_fields = fields


class PurchaseFilter(filters.FilterSet):
    client = IdFilter(field_name="client_id")
    offer = IdFilter(field_name="offer_id")
    subscription_state = filters.CharFilter()
    disputed = filters.BooleanFilter()


class PurchaseViewSet(PracticeViewSet):
    """What clients bought (read-only; purchases come from Stripe's events). Coaches see
    what their own offers sold; `credits_left` is the engagement's ledger balance."""

    model = Purchase
    serializer_class = PurchaseSerializer
    filterset_class = PurchaseFilter
    http_method_names = ["get", "head", "options"]
    ordering_fields = ["paid_at", "amount_total", "credits_left"]
    ordering = ["-paid_at"]

    def practice_queryset(self):
        return selectors.purchases_with_credits(self.membership)
