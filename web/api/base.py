"""The API's edge: a base viewset that scopes every request to the token's practice.

A token belongs to one member of one practice; the practice always comes from
the token (or the signed-in session), never from the request body.
"""

from __future__ import annotations

import datetime as dt
import re
from contextlib import ExitStack

from django import forms
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from django_scopes import scope
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema_field, extend_schema_serializer
from rest_framework import exceptions, mixins, permissions, serializers, viewsets
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.views import exception_handler

from coachhub.models import User
from coachhub.permissions import can, refusal
from coachhub.tenancy import coaches_of
from web.api.auth import PracticeTokenAuthentication


class PracticeTokenScheme(OpenApiAuthenticationExtension):
    target_class = PracticeTokenAuthentication
    name = "PracticeToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>` — create one with `manage.py create_api_token`.",
        }


# --- What the schema says ------------------------------------------------------------
WALL_CLOCK_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"


@extend_schema_field({"type": "string", "pattern": WALL_CLOCK_PATTERN, "example": "09:30:00"})
class WallClockTimeField(serializers.TimeField):
    """A time on someone's clock, HH:MM or HH:MM:SS with no offset: the zone is the one its
    help text names (OpenAPI's `time` format would promise an offset we never send)."""

    def to_internal_value(self, value):
        # Django's parser would drop an offset silently ("09:00+02:00" read as 09:00).
        if isinstance(value, str) and not re.fullmatch(WALL_CLOCK_PATTERN, value.strip()):
            raise serializers.ValidationError(
                "Give a clock time as HH:MM or HH:MM:SS, without an offset: "
                "the time zone is the coach's."
            )
        return super().to_internal_value(value)


class WallClockModelSerializer(serializers.ModelSerializer):
    """A model serializer whose time fields are wall-clock times (WallClockTimeField)."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.TimeField: WallClockTimeField,
    }


@extend_schema_field(
    {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
)
class _ErrorDetailField(serializers.JSONField):
    pass


@extend_schema_serializer(component_name="Error")
class ApiErrorSerializer(serializers.Serializer):
    """The body of every 4xx: `detail` says why; a 400 also names each refused field
    (`{"field": ["message", …]}`), and some refusals add a `code`."""

    detail = _ErrorDetailField(required=False, help_text="Why (a list of reasons for some 400s).")
    code = serializers.CharField(required=False, help_text="A machine-readable reason.")


# Every operation may answer these; each body is an Error.
ERROR_RESPONSES = {
    "400": "The request was refused: `detail`, or each field with its messages.",
    "401": "No token, or a token that is wrong or revoked.",
    "403": "Your role in the practice may not do this.",
    "404": "Not in your practice (or no such page of results).",
}


class PracticeAutoSchema(AutoSchema):
    """drf-spectacular's schema plus the error answers every operation can give."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, description in ERROR_RESPONSES.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ApiErrorSerializer, description=description), code
                )
        return responses


# --- Filters ------------------------------------------------------------------------
class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 instant, read in UTC: PostgreSQL stores offsets only up to ±15:59, and
    a time at the calendar's very edge may not exist in UTC at all (then it is a 400)."""

    def to_python(self, value):
        instant = super().to_python(value)
        if instant is None:
            return None
        try:
            return instant.astimezone(dt.UTC)
        except OverflowError:
            raise forms.ValidationError(
                "This time lies outside the calendar once read in UTC.", code="overflow"
            ) from None


class BoundedSearchFilter(SearchFilter):
    """`?search=` up to a length a person types: SQLite refuses a LIKE pattern past 50,000
    bytes, so a longer one was a 500 on the embedded default."""

    max_length = 200

    def get_search_terms(self, request):
        if len(request.query_params.get(self.search_param, "")) > self.max_length:
            raise exceptions.ValidationError(
                {self.search_param: [f"Search for at most {self.max_length} characters."]}
            )
        return super().get_search_terms(request)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["maxLength"] = self.max_length
        return parameters


class IdFilter(filters.NumberFilter):
    """A related row's id: a whole number in the database's range, else a 400 (a decimal
    such as `1e300` used to reach the query and fail there)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class InstantFilter(filters.IsoDateTimeFilter):
    """Filter on an instant given with any offset (`2026-01-01T00:00:00+16:00`)."""

    field_class = UtcIsoDateTimeField


class IsPracticeMember(permissions.BasePermission):
    message = "Choose a practice first."

    def has_permission(self, request, view) -> bool:
        return getattr(request, "membership", None) is not None


class PracticeViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Base for every API viewset: resolves the member, scopes queries, maps errors.

    Subclasses set `model` (the tenant model the URL's `pk` refers to; the tenant
    sweep test reads it) and implement `get_queryset` from selectors.
    """

    model = None
    schema = PracticeAutoSchema()
    filter_backends = [filters.DjangoFilterBackend, OrderingFilter, BoundedSearchFilter]
    # The ability (coachhub.permissions) a member needs to write; every member may read.
    write_ability: str | None = None
    permission_classes = [permissions.IsAuthenticated, IsPracticeMember]
    http_method_names = ["get", "post", "patch", "put", "head", "options"]

    def dispatch(self, request, *args, **kwargs):
        # The practice scope opened in initial() closes here whatever happens: DRF skips
        # finalize_response() when a view raises, and a scope left open would follow the
        # next request served by this thread.
        with ExitStack() as self._scopes:
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        self.membership = None
        user = request.user  # authenticates; a token sets request._api_membership
        token_membership = getattr(request, "_api_membership", None)
        if user and user.is_authenticated:
            # Token requests carry their own practice; session requests use the
            # practice chosen in the dashboard (the middleware already scoped them).
            self.membership = token_membership or getattr(request._request, "membership", None)
        request.membership = self.membership
        request.practice = self.membership.practice if self.membership else None
        if self.membership is not None:
            self._scopes.enter_context(scope(practice=self.membership.practice_id))
        super().initial(request, *args, **kwargs)

    def check_permissions(self, request):
        super().check_permissions(request)
        if self.write_ability and request.method not in permissions.SAFE_METHODS:
            if not can(self.membership, self.write_ability):
                raise exceptions.PermissionDenied(refusal(self.write_ability))

    @property
    def practice(self):
        return self.membership.practice

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no request
            return self.model.objects.none()
        return self.practice_queryset()

    def practice_queryset(self):
        raise NotImplementedError


class PracticeRelatedField(serializers.PrimaryKeyRelatedField):
    """A related id resolved inside the request's practice: another practice's id is 'not found'."""

    def __init__(self, model, **kwargs):
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self):
        practice = self.context["request"].practice
        if self.model is User:
            return coaches_of(practice)
        return self.model.objects.filter(practice=practice)


def api_exception_handler(exc, context):
    """Errors raised by services keep their message: validation → 400 with field
    messages, permission → 403 (DRF's own handler would drop the message)."""
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    return exception_handler(exc, context)
