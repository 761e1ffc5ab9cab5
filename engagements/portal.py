"""Sign-in links to the client portal: what they carry, how long they last, the e-mail that
brings one to a client who asks for it.

A link is a django-sesame token for the client's account, scoped to one practice
(`portal:<practice public id>`), so a link from one practice never opens another's
portal. Links in session e-mails and invites last `PORTAL_LINK_DAYS` and may be opened
again; a link the client asks for lasts `PORTAL_REQUESTED_LINK_MINUTES` and signs in
once (its own scope, so it cannot be passed off as a longer-lived one).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.urls import reverse
from sesame import settings as sesame_settings
from sesame.backends import ModelBackend
from sesame.tokens import parse_token
from sesame.utils import get_token

from coachhub.links import absolute
from coachhub.mail import email_send
from coachhub.models import Practice, User
from coachhub.tasks import PracticeTask

from .models import Client
from .services.clients import client_has_portal_user, clients_portal_users_ensure

EXPIRED_CHECK_AGE = dt.timedelta(days=3650)  # long enough to tell "expired" from "forged"
PORTAL_LINK_REQUESTS = 3  # links one address may ask for per window, per practice
PORTAL_LINK_REQUEST_WINDOW = dt.timedelta(minutes=15)


def portal_scope(practice: Practice) -> str:
    return f"portal:{practice.public_id}"


def requested_scope(practice: Practice) -> str:
    return f"portal:{practice.public_id}:requested"


def requested_link_age() -> dt.timedelta:
    return dt.timedelta(minutes=settings.PORTAL_REQUESTED_LINK_MINUTES)


def portal_home_path(practice: Practice) -> str:
    return reverse("portal_home", kwargs={"practice_slug": practice.slug})


def portal_session_path(practice: Practice, session_public_id) -> str:
    return reverse(
        "portal_session",
        kwargs={"practice_slug": practice.slug, "session_uuid": session_public_id},
    )


class PortalAccountMissing(ValueError):
    """A link asked for a client whose account was not made first (a caller's mistake)."""


def portal_link(client: Client, *, path: str | None = None, requested: bool = False) -> str:
    """An absolute link that signs the client in to their practice's portal at `path`
    (the portal's home unless given). Pure: the client's account is made beforehand, by
    `clients_portal_users_ensure` in the task that sends the e-mail."""
    if not client_has_portal_user(client):
        raise PortalAccountMissing(f"client {client.pk} has no portal account at their e-mail")
    practice = client.practice
    scope = requested_scope(practice) if requested else portal_scope(practice)
    query = urlencode({sesame_settings.TOKEN_NAME: get_token(client.user, scope=scope)})
    return absolute(f"{urlsplit(path or portal_home_path(practice)).path}?{query}")


@dataclass(frozen=True)
class LinkCheck:
    """What a presented token turned out to be: whose, and whether it may sign in now."""

    user: User | None = None
    requested: bool = False
    expired: bool = False  # ours and for this practice, but too old (or already used)


def _spent_key(token: str) -> str:
    return "portal-link-spent:" + hashlib.sha256(token.encode()).hexdigest()


def portal_link_check(token: str, *, practice: Practice) -> LinkCheck:
    """Read a token presented to this practice's portal, without signing anyone in.

    Each reading asks sesame with one scope and age; the account is loaded once for all
    of them (sesame's backend loader, so an inactive account is refused the same way)."""
    loaded: dict = {}

    def load(pk):
        if pk not in loaded:
            loaded[pk] = ModelBackend().get_user(pk)
        return loaded[pk]

    def read(scope: str, max_age: dt.timedelta | None = None) -> User | None:
        return parse_token(token, load, scope, max_age)

    if user := read(portal_scope(practice)):
        return LinkCheck(user=user)
    if user := read(requested_scope(practice), requested_link_age()):
        if cache.get(_spent_key(token)):
            return LinkCheck(expired=True, requested=True)
        return LinkCheck(user=user, requested=True)
    for scope in (portal_scope(practice), requested_scope(practice)):
        if read(scope, EXPIRED_CHECK_AGE):
            return LinkCheck(expired=True)
    return LinkCheck()


def portal_link_spend(token: str) -> bool:
    """Mark a requested link used; False when it already was (a second tab, a replay).
    Remembered for the link's lifetime, after which its age refuses it anyway."""
    timeout = int(requested_link_age().total_seconds()) + 60
    return cache.add(_spent_key(token), 1, timeout=timeout)


def _asked_key(practice: Practice, email: str) -> str:
    return f"portal-link-asked:{practice.pk}:" + hashlib.sha256(email.encode()).hexdigest()


def _asked_too_often(practice: Practice, email: str) -> bool:
    """More than `PORTAL_LINK_REQUESTS` links asked for one address of one practice in the
    window: a mailbox is not flooded, whoever asks."""
    key, window = _asked_key(practice, email), int(PORTAL_LINK_REQUEST_WINDOW.total_seconds())
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key) > PORTAL_LINK_REQUESTS
    except ValueError:  # the window ended between the two calls: a new one starts
        cache.add(key, 1, timeout=window)
        return False


def portal_link_request(*, practice: Practice, email: str, path: str | None = None) -> None:
    """Someone asked for a sign-in link (to land on the portal page `path`). Whether the
    address is a client's is looked up by the task, so the page answers the same, as
    fast, either way, and tells nobody who is a client; past the per-address limit
    nothing is sent, silently."""
    email = (email or "").strip().lower()
    if _asked_too_often(practice, email):
        return
    portal_link_send.delay_on_commit(practice_id=practice.pk, email=email, path=path)


def portal_link_message(client: Client, *, path: str | None = None) -> EmailMessage:
    practice = client.practice
    minutes = settings.PORTAL_REQUESTED_LINK_MINUTES
    lines = [
        f"Hello {client.name},",
        "",
        f"Here is your link to sign in to your sessions with {practice.name}:",
        "",
        portal_link(client, path=path, requested=True),
        "",
        f"It works once, for the next {minutes} minutes. If you did not ask for it, "
        "you can ignore this e-mail.",
        "",
        practice.name,
    ]
    return EmailMessage(
        subject=f"Your sign-in link for {practice.name}",
        body="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[client.email],
    )


@shared_task(base=PracticeTask, bind=True, max_retries=3)
def portal_link_send(
    self,
    *,
    practice_id: int,
    email: str = "",
    path: str | None = None,
    client_id: int | None = None,  # what tasks queued before the e-mail lookup moved here named
) -> int:
    """E-mail a requested sign-in link if the address is a client's here (nothing, and no
    trace, otherwise); a mail server that is down is tried again."""
    found = {"pk": client_id} if client_id is not None else {"email": email}
    client = (
        Client.objects.select_related("practice", "user")
        .filter(practice_id=practice_id, **found)
        .first()
    )
    if client is None:
        return 0
    clients_portal_users_ensure(clients=[client])
    try:
        email_send(
            portal_link_message(client, path=path),
            practice_id=practice_id,
            kind="portal.link",
            subject=client,
            attempt=self.attempt,
            will_retry=False if self.last_attempt else None,
        )
    except OSError as error:
        raise self.retry_later(error) from error
    return 1
