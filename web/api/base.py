"""The API's edge: a base viewset that scopes every request to the token's practice.

A token belongs to one member of one practice; the practice always comes from
the token (or the signed-in session), never from the request body.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django_scopes import scope
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, mixins, permissions, serializers, viewsets
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
    # The ability (coachhub.permissions) a member needs to write; every member may read.
    write_ability: str | None = None
    permission_classes = [permissions.IsAuthenticated, IsPracticeMember]
    http_method_names = ["get", "post", "patch", "put", "head", "options"]

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
            self._scope = scope(practice=self.membership.practice_id)
            self._scope.__enter__()
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        scope_cm = getattr(self, "_scope", None)
        if scope_cm is not None:
            self._scope = None
            scope_cm.__exit__(None, None, None)
        return response

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
