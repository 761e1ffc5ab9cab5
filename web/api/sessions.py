"""REST API for sessions, availability rules and booking links (under /api/v1/).

Thin views over the same services as the dashboard. Moving a session (PATCH
`starts_at`) reschedules it with a new invite; `POST …/cancel/` cancels it.
"""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from billing.models import Offer
from coachhub.models import User
from coachhub.permissions import can
from engagements.models import Engagement
from sessions_app import selectors, services
from sessions_app.models import (
    BOOKING_LINK_EDITABLE_FIELDS,
    BookingLink,
    DateOverride,
    Session,
    SessionStatus,
    WeeklyHours,
)
from web.api.base import (
    IdFilter,
    InstantFilter,
    PracticeRelatedField,
    PracticeViewSet,
    WallClockModelSerializer,
)


class SessionFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=SessionStatus.choices)
    engagement = IdFilter(field_name="engagement_id")
    client = IdFilter(field_name="client_id")
    coach = IdFilter(field_name="coach_id")
    starts_after = InstantFilter(field_name="starts_at", lookup_expr="gte")
    starts_before = InstantFilter(field_name="starts_at", lookup_expr="lt")


class SessionSerializer(serializers.ModelSerializer):
    engagement = PracticeRelatedField(Engagement)
    minutes = serializers.IntegerField(write_only=True, required=False, min_value=5, max_value=480)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Session
        fields = [
            "id",
            "public_id",
            "url",
            "engagement",
            "collection",
            "coach",
            "client",
            "title",
            "starts_at",
            "ends_at",
            "status",
            "location",
            "source",
            "consumes",
            "seat",
            "sequence",
            "allowance_override_reason",
            "minutes",
        ]
        read_only_fields = [
            "public_id",
            "collection",
            "coach",
            "client",
            "ends_at",
            "source",
            "consumes",
            "seat",
            "sequence",
        ]

    def get_url(self, session: Session) -> str:
        return session.get_absolute_url()


class SessionViewSet(PracticeViewSet):
    """Sessions the member can see. POST schedules one for an engagement (filling the
    session waiting to be scheduled); PATCH `starts_at` moves it; PATCH `status` records
    completed / no-show."""

    model = Session
    serializer_class = SessionSerializer
    filterset_class = SessionFilter
    ordering_fields = ["starts_at", "created_at"]
    ordering = ["starts_at"]

    def practice_queryset(self):
        return selectors.sessions_visible_to(self.membership).select_related(
            "engagement", "coach", "client"
        )

    def perform_create(self, serializer):
        data = serializer.validated_data
        engagement = data["engagement"]
        if not data.get("starts_at"):
            raise serializers.ValidationError({"starts_at": "Give the session's start time."})
        serializer.instance = services.session_schedule(
            practice=self.practice,
            actor=self.request.user,
            engagement=engagement,
            starts_at=data["starts_at"],
            minutes=data.get("minutes") or engagement.session_minutes,
            location=data.get("location", ""),
            allowance_override_reason=data.get("allowance_override_reason", ""),
        )

    def perform_update(self, serializer):
        session, data = serializer.instance, serializer.validated_data
        if "starts_at" in data and data["starts_at"] != session.starts_at:
            session = services.session_reschedule(
                session=session, actor=self.request.user, starts_at=data["starts_at"]
            )
        if "status" in data and data["status"] != session.status:
            session = services.session_status_set(
                session=session, actor=self.request.user, status=data["status"]
            )
        serializer.instance = session

    @extend_schema(request=None, responses=SessionSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel; `?late=true` counts it as used (a client's late notice)."""
        session = services.session_cancel(
            session=self.get_object(),
            actor=request.user,
            late=request.query_params.get("late") == "true",
        )
        return Response(self.get_serializer(session).data)


class CoachScopedSerializer(WallClockModelSerializer):
    coach = PracticeRelatedField(User, required=False)


COACH_CLOCK = {
    "starts": {"help_text": "From, on the coach's clock (the coach's time zone)."},
    "ends": {"help_text": "Until, on the coach's clock (the coach's time zone); 00:00 = midnight."},
}


class WeeklyHoursSerializer(CoachScopedSerializer):
    class Meta:
        model = WeeklyHours
        fields = ["id", "coach", "weekday", "starts", "ends"]
        extra_kwargs = COACH_CLOCK


class DateOverrideSerializer(CoachScopedSerializer):
    class Meta:
        model = DateOverride
        fields = ["id", "coach", "date", "starts", "ends"]
        extra_kwargs = COACH_CLOCK


class _RuleViewSet(mixins.DestroyModelMixin, PracticeViewSet):
    """A coach's availability rows: created by `create_service`, deleted by the service."""

    write_ability = "availability.manage"
    http_method_names = ["get", "post", "delete", "head", "options"]

    def practice_queryset(self):
        rows = self.model.objects.filter(practice=self.practice).select_related("coach", "practice")
        if not can(self.membership, "clients.see_all"):
            rows = rows.filter(coach=self.request.user)
        return rows

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        coach = data.pop("coach", self.request.user)
        serializer.instance = self.create_service(
            practice=self.practice, actor=self.request.user, coach=coach, **data
        )

    def perform_destroy(self, instance):
        services.availability_row_delete(row=instance, actor=self.request.user)


class WeeklyHoursViewSet(_RuleViewSet):
    """Weekly hours in the coach's time zone (`ends` 00:00 = midnight)."""

    model = WeeklyHours
    serializer_class = WeeklyHoursSerializer
    ordering = ["coach_id", "weekday", "starts"]
    create_service = staticmethod(services.weekly_hours_add)


class DateOverrideViewSet(_RuleViewSet):
    """Hours for one date replacing the weekday's; no times = a day off."""

    model = DateOverride
    serializer_class = DateOverrideSerializer
    ordering = ["date", "starts"]
    create_service = staticmethod(services.date_override_add)


class BookingLinkSerializer(CoachScopedSerializer):
    engagement = PracticeRelatedField(Engagement, required=False, allow_null=True)
    offer = PracticeRelatedField(Offer, required=False, allow_null=True)
    public_url = serializers.SerializerMethodField()

    class Meta:
        model = BookingLink
        fields = ["id", "public_url", "coach", *BOOKING_LINK_EDITABLE_FIELDS]
        # Uniqueness of (practice, slug) is checked by the model in the service.
        validators: list = []

    def get_public_url(self, link: BookingLink) -> str:
        return link.get_absolute_url()


class BookingLinkViewSet(PracticeViewSet):
    """Public calendar links. Turn one off with PATCH `is_active: false`."""

    model = BookingLink
    serializer_class = BookingLinkSerializer
    write_ability = "availability.manage"
    ordering = ["title"]

    def practice_queryset(self):
        links = BookingLink.objects.filter(practice=self.practice).select_related(
            "coach", "practice"
        )
        if not can(self.membership, "clients.see_all"):
            links = links.filter(coach=self.request.user)
        return links

    def _save(self, serializer, link=None):
        serializer.instance = services.booking_link_save(
            practice=self.practice,
            actor=self.request.user,
            link=link,
            **serializer.validated_data,
        )

    def perform_create(self, serializer):
        self._save(serializer)

    def perform_update(self, serializer):
        self._save(serializer, link=serializer.instance)
