"""REST API for clients, companies, contracts, engagements and collections (under /api/v1/).

Thin views over the same selectors and services as the dashboard; the practice
comes from the token or session, never from the body.
"""

from __future__ import annotations

from django_filters import rest_framework as filters
from rest_framework import serializers

from coachhub.models import User
from coachhub.permissions import can, require
from coachhub.timezones import validate_time_zone
from engagements import selectors, services
from engagements.models import (
    Client,
    ClientStatus,
    Collection,
    CollectionKind,
    Contract,
    Engagement,
    EngagementKind,
    EngagementStatus,
    Organization,
)
from engagements.participants import Participant
from sessions_app import services as session_services
from web.api.base import IdFilter, PracticeRelatedField, PracticeViewSet, WallClockModelSerializer


class ContractFilter(filters.FilterSet):
    organization = IdFilter(field_name="organization_id")


class CollectionFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=CollectionKind.choices)
    engagement = IdFilter(field_name="engagement_id")


# --- Clients ---------------------------------------------------------------------
class ClientSerializer(serializers.ModelSerializer):
    coach = PracticeRelatedField(User, required=False, allow_null=True)
    organization = PracticeRelatedField(Organization, required=False, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=40), required=False)
    time_zone = serializers.CharField(validators=[validate_time_zone], required=False)

    class Meta:
        model = Client
        fields = [
            "id",
            "name",
            "email",
            "time_zone",
            "phone",
            "status",
            "tags",
            "organization",
            "coach",
            "private_notes",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        # One client per e-mail per practice is the service's rule (the practice is not
        # in the body, so DRF's own unique-together check cannot run).
        validators = []

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not can(self.context["request"].membership, "clients.notes"):
            data.pop("private_notes", None)
        return data


class ClientFilter(filters.FilterSet):
    # Filters are declared by id: django-filter would otherwise build querysets at
    # import time, outside any practice scope.
    status = filters.ChoiceFilter(choices=ClientStatus.choices)
    organization = IdFilter(field_name="organization_id")
    coach = IdFilter(field_name="coach_id")


class ClientViewSet(PracticeViewSet):
    """Clients you can see: all for owners and assistants, your own for coaches."""

    model = Client
    serializer_class = ClientSerializer
    filterset_class = ClientFilter
    search_fields = ["name", "email"]
    ordering_fields = ["name", "created_at", "status"]
    ordering = ["name"]

    def practice_queryset(self):
        return selectors.client_list(self.membership)

    def _refuse_notes_for_assistants(self, serializer) -> None:
        if "private_notes" in self.request.data:
            require(self.membership, "clients.notes")

    def perform_create(self, serializer):
        self._refuse_notes_for_assistants(serializer)
        serializer.instance = services.client_create(
            practice=self.practice, actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        self._refuse_notes_for_assistants(serializer)
        data = dict(serializer.validated_data)
        notes = data.pop("private_notes", None)
        client = services.client_update(
            client=serializer.instance, actor=self.request.user, data=data
        )
        if notes is not None:
            client = services.client_private_notes_update(
                client=client, membership=self.membership, notes=notes
            )
        serializer.instance = client


# --- Companies and contracts ----------------------------------------------------------
class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "billing_email", "notes", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators = []


class OrganizationViewSet(PracticeViewSet):
    write_ability = "companies.manage"
    model = Organization
    serializer_class = OrganizationSerializer
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]
    ordering = ["name"]

    def practice_queryset(self):
        return Organization.objects.filter(practice=self.practice)

    def perform_create(self, serializer):
        serializer.instance = services.organization_create(
            practice=self.practice, actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.organization_update(
            organization=serializer.instance,
            actor=self.request.user,
            data=serializer.validated_data,
        )


class ContractSerializer(serializers.ModelSerializer):
    organization = PracticeRelatedField(Organization)
    seats_taken = serializers.IntegerField(read_only=True)

    class Meta:
        model = Contract
        fields = [
            "id",
            "organization",
            "title",
            "starts_on",
            "ends_on",
            "seats",
            "seats_taken",
            "sessions_per_seat_per_month",
            "session_minutes",
            "price_per_seat_month",
            "first_month_cutoff_day",
            "first_month_credit",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]


class ContractViewSet(PracticeViewSet):
    write_ability = "companies.manage"
    model = Contract
    serializer_class = ContractSerializer
    filterset_class = ContractFilter
    ordering_fields = ["starts_on", "ends_on", "created_at"]
    ordering = ["-starts_on"]

    def practice_queryset(self):
        return selectors.contract_list(self.membership)

    def perform_create(self, serializer):
        contract = services.contract_create(
            practice=self.practice, actor=self.request.user, **serializer.validated_data
        )
        # Read back through the selector: the answer carries seats_taken like every other.
        serializer.instance = self.get_queryset().get(pk=contract.pk)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("organization", None)
        contract = services.contract_update(
            contract=serializer.instance, actor=self.request.user, data=data
        )
        serializer.instance = self.get_queryset().get(pk=contract.pk)


# --- Engagements ------------------------------------------------------------------
class ChecklistStepSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    state = serializers.CharField()
    reason = serializers.CharField()


class EngagementSerializer(WallClockModelSerializer):
    client = PracticeRelatedField(Client, required=False, allow_null=True)
    coach = PracticeRelatedField(User)
    organization = PracticeRelatedField(Organization, required=False, allow_null=True)
    checklist = ChecklistStepSerializer(source="steps", many=True, read_only=True)
    collection = serializers.PrimaryKeyRelatedField(read_only=True)
    participants = serializers.ListField(
        child=serializers.EmailField(),
        write_only=True,
        required=False,
        help_text="Team workshops: participant e-mails (clients found or created).",
    )
    months = serializers.IntegerField(write_only=True, required=False, min_value=1, max_value=36)
    first_session_at = serializers.DateTimeField(write_only=True, required=False, allow_null=True)

    class Meta:
        model = Engagement
        fields = [
            "id",
            "kind",
            "title",
            "client",
            "organization",
            "coach",
            "funding",
            "status",
            "starts_on",
            "ends_on",
            "cadence",
            "preferred_weekday",
            "preferred_time",
            "session_minutes",
            "hours_per_month",
            "aims",
            "core_subject",
            "send_platform_invite",
            "checklist",
            "collection",
            "participants",
            "months",
            "first_session_at",
            "created_at",
        ]
        read_only_fields = ["id", "funding", "ends_on", "created_at"]
        extra_kwargs = {
            "title": {"required": False},
            "preferred_time": {
                "help_text": "The agreed time on the coach's clock (the coach's time zone)."
            },
        }

    def validate(self, data):
        if self.instance is None:
            kind = data.get("kind")
            if kind != EngagementKind.TEAM_WORKSHOP and not data.get("client"):
                raise serializers.ValidationError({"client": "Choose the client."})
            if kind == EngagementKind.TEAM_WORKSHOP:
                for field in ("title", "core_subject"):
                    if not data.get(field):
                        raise serializers.ValidationError({field: "This field is required."})
            if kind == EngagementKind.MONTHLY_PACKAGE and not data.get("hours_per_month"):
                raise serializers.ValidationError(
                    {"hours_per_month": "A monthly package allocates hours per month."}
                )
        return data


class EngagementFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=EngagementKind.choices)
    status = filters.ChoiceFilter(choices=EngagementStatus.choices)
    client = IdFilter(field_name="client_id")
    coach = IdFilter(field_name="coach_id")
    organization = IdFilter(field_name="organization_id")


class EngagementViewSet(PracticeViewSet):
    """Engagements; creating one runs the same guided set-up (and checklist) as the dashboard."""

    model = Engagement
    write_ability = "engagements.change"
    serializer_class = EngagementSerializer
    filterset_class = EngagementFilter
    search_fields = ["title", "client__name"]
    ordering_fields = ["created_at", "starts_on", "title"]
    ordering = ["-created_at"]

    def practice_queryset(self):
        return (
            selectors.engagements_visible_to(self.membership)
            .select_related("client", "coach", "organization", "collection")
            .prefetch_related("steps")
        )

    def perform_create(self, serializer):
        data = serializer.validated_data
        common = {"practice": self.practice, "actor": self.request.user, "coach": data["coach"]}
        kind = data["kind"]
        if kind == EngagementKind.PER_SESSION:
            engagement = session_services.engagement_create_per_session(
                **common,
                client=data["client"],
                session_minutes=data.get("session_minutes"),
                first_session_at=data.get("first_session_at"),
                send_platform_invite=data.get("send_platform_invite", True),
                aims=data.get("aims", ""),
            )
        elif kind == EngagementKind.MONTHLY_PACKAGE:
            engagement = session_services.engagement_create_monthly_package(
                **common,
                client=data["client"],
                hours_per_month=data["hours_per_month"],
                cadence=data.get("cadence") or "biweekly",
                session_minutes=data.get("session_minutes", 60),
                preferred_weekday=data.get("preferred_weekday"),
                preferred_time=data.get("preferred_time"),
                starts_on=data.get("starts_on"),
                months=data.get("months", 3),
                aims=data.get("aims", ""),
            )
        else:
            engagement = session_services.engagement_create_team_workshop(
                **common,
                title=data["title"],
                core_subject=data["core_subject"],
                organization=data.get("organization"),
                participants=[Participant(name="", email=e) for e in data.get("participants", [])],
                starts_at=data.get("first_session_at"),
                session_minutes=data.get("session_minutes", 120),
            )
        serializer.instance = self.get_queryset().get(pk=engagement.pk)

    def perform_update(self, serializer):
        engagement = selectors.engagement_get_for_member_write(
            self.membership, serializer.instance.pk
        )
        services.engagement_update(
            engagement=engagement, actor=self.request.user, data=serializer.validated_data
        )
        serializer.instance = self.get_queryset().get(pk=engagement.pk)


# --- Collections ----------------------------------------------------------------
class CollectionSerializer(serializers.ModelSerializer):
    participants = serializers.SerializerMethodField()
    agenda_items = serializers.ListField(
        child=serializers.CharField(max_length=300), required=False
    )
    prep_questions = serializers.ListField(
        child=serializers.CharField(max_length=300), required=False
    )

    class Meta:
        model = Collection
        fields = [
            "id",
            "public_id",
            "engagement",
            "kind",
            "title",
            "template",
            "agenda_items",
            "prep_questions",
            "participants",
            "created_at",
        ]
        read_only_fields = ["id", "public_id", "engagement", "kind", "template", "created_at"]

    def get_participants(self, collection) -> list[dict]:
        return [
            {"id": c.pk, "name": c.name, "email": c.email} for c in collection.participants.all()
        ]


class CollectionViewSet(PracticeViewSet):
    """Collections are created with their engagement; here they are read and edited."""

    model = Collection
    write_ability = "engagements.change"
    serializer_class = CollectionSerializer
    filterset_class = CollectionFilter
    ordering_fields = ["created_at", "title"]
    ordering = ["-created_at"]
    http_method_names = ["get", "patch", "put", "head", "options"]

    def practice_queryset(self):
        return selectors.collections_visible_to(self.membership).prefetch_related("participants")

    def perform_update(self, serializer):
        serializer.instance = services.collection_update(
            collection=serializer.instance,
            actor=self.request.user,
            data=serializer.validated_data,
        )
