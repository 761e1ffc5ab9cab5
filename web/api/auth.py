"""Practice-scoped API tokens: `Authorization: Token <key>` names one member of one practice.

Kept apart from web.api.base because DRF imports authentication classes while
its own views module is still loading.
"""

from __future__ import annotations

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from coachhub.models import ApiToken, Membership


class PracticeTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <key>` (or `Bearer <key>`)."""

    keywords = (b"token", b"bearer")

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Use: Authorization: Token <key>.")
        key = header[1].decode(errors="replace")
        token = (
            ApiToken.objects.with_scopes_disabled()
            .select_related("user", "practice")
            .filter(key_hash=ApiToken.hash_key(key), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        membership = Membership.objects.filter(practice=token.practice, user=token.user).first()
        if membership is None:
            raise exceptions.AuthenticationFailed("The token's owner left the practice.")
        ApiToken.objects.with_scopes_disabled().filter(pk=token.pk).update(
            last_used_at=timezone.now()
        )
        request._api_membership = membership
        return token.user, token

    def authenticate_header(self, request) -> str:
        return "Token"
