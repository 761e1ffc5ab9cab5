"""Slack's Events API: receive (verify, store once, enqueue), process (claim, dispatch to
the chat services), and recover what a dead worker or a lost broker left behind.

Receiving is what `POST /slack/events/` does and must answer within Slack's three
seconds: one query for the connections of the team the body names, the signature check
with the operator's secret or a connection's own, one INSERT per practice, and at most
once a minute an UPDATE noting that Slack reaches the connection; no outside call.
Processing happens in a Celery task that claims the row with a conditional UPDATE, so
two workers given the same event never both act on it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_scopes import scopes_disabled
from kombu.exceptions import OperationalError

from coachhub.audit import audit_record
from coachhub.models import User
from coachhub.tasks import PracticeTask, retry_countdown
from integrations.errors import IntegrationError
from integrations.payloads import json_strict_loads, unstorable
from integrations.slack.signing import request_is_signed

from .event_handlers import HANDLERS, MalformedEvent
from .models import ConnectionMethod, ConnectionStatus, EventStatus, SlackConnection, SlackEvent

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_EVENT_ATTEMPTS = 6
# An event received (or due for its retry) this long ago and not taken is presumed lost;
# a claim is dead once the task's hard time limit (and this margin) is past.
RECOVER_AFTER = dt.timedelta(minutes=5)
CLAIM_MARGIN = dt.timedelta(seconds=30)
RECOVER_BATCH = 500  # per practice and sweep
HEARD_EVERY = dt.timedelta(minutes=1)
JUST_BROKEN = dt.timedelta(minutes=5)  # how often a connection's last event time is written
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
TEAM_ID_PATTERN = re.compile(r"^[A-Z0-9]{1,32}$")
MAX_TEAM_IDS = 10  # a body naming more is not from Slack; the rest are not looked up


class EventRefused(Exception):
    """A request answered with an error and nothing stored; `status` is the HTTP answer."""

    status = 400


class EventNotSigned(EventRefused):
    status = 401


class EventTooLarge(EventRefused):
    status = 413


@dataclass(frozen=True)
class Receipt:
    """What a verified request led to: the challenge to echo, or how many rows it made."""

    challenge: str | None = None
    stored: int = 0
    duplicates: int = 0


# --- Receiving ------------------------------------------------------------------------
def _parsed(body: bytes, content_type: str) -> tuple[object, str]:
    """The body as data, and why it cannot be taken ("" when it can). Interactivity posts
    a form with `payload=`. Data that cannot be stored is still returned, for routing."""
    try:
        text = body.decode("utf-8")
        if content_type == FORM_CONTENT_TYPE:
            payload = parse_qs(text).get("payload")
            if not payload:
                return None, "An interactivity request must carry a `payload` field."
            text = payload[0]
        data = json_strict_loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, "The body is not JSON (or a form with a JSON `payload`)."
    if problem := unstorable(data):
        return data, f"The body cannot be stored: {problem}."
    return data, ""


def _team_ids(data: object) -> list[str]:
    """The workspaces a body is about: `team_id`, each authorization's, or `team.id`.
    Only ids shaped like Slack's reach the database (a NUL would break the query)."""
    if not isinstance(data, dict):
        return []
    found = [data.get("team_id")]
    authorizations = data.get("authorizations")
    if isinstance(authorizations, list):
        found += [a.get("team_id") for a in authorizations if isinstance(a, dict)]
    team = data.get("team")
    if isinstance(team, dict):
        found.append(team.get("id"))
    named = (t for t in found if isinstance(t, str) and TEAM_ID_PATTERN.match(t))
    return list(dict.fromkeys(named))[:MAX_TEAM_IDS]


def _candidates(
    data: object, team_ids: list[str]
) -> list[tuple[int, str, str, str, dt.datetime | None]]:
    """(practice id, team id, method, own signing secret, when a verified request last
    came) of the connected workspaces that may have sent it; one broken over JUST_BROKEN
    ago (or disconnected) takes nothing.

    A url_verification names no team: it comes when a practice with its own app sets the
    Request URL (after pasting the token and secret) or when the operator's app does.
    """
    if team_ids:
        whose = Q(team_id__in=team_ids)
    elif isinstance(data, dict) and data.get("type") == "url_verification":
        whose = Q(method=ConnectionMethod.PASTED) & ~Q(signing_secret="")
    else:
        return []
    # Slack sends tokens_revoked and then app_uninstalled: the first breaks the connection,
    # and the second, moments later, must still be taken so its reason is the one shown.
    live = Q(status=ConnectionStatus.CONNECTED) | Q(
        status=ConnectionStatus.BROKEN, broken_at__gte=timezone.now() - JUST_BROKEN
    )
    with scopes_disabled():
        connections = SlackConnection.objects.filter(whose, live)
        return list(
            connections.values_list(
                "practice_id", "team_id", "method", "signing_secret", "events_last_received_at"
            )
        )


def _secret_of(method: str, own_secret: str) -> str:
    """A practice's own app signs with its own secret only; never the operator's, which
    signs for every workspace the operator's app is in."""
    if method == ConnectionMethod.PASTED:
        return own_secret
    return own_secret or settings.SLACK_SIGNING_SECRET


def _heard_from(verified: list[tuple[int, str, dt.datetime | None]]) -> None:
    """Note that Slack reaches these connections, at most once a minute each (one UPDATE
    then, none otherwise), for the Integrations page's "no events received yet"."""
    now = timezone.now()
    stale = [p for p, _, last in verified if last is None or last < now - HEARD_EVERY]
    if stale:
        with scopes_disabled():
            SlackConnection.objects.filter(practice_id__in=stale).update(
                events_last_received_at=now
            )


def slack_request_receive(
    *, body: bytes, headers: Mapping[str, str], content_type: str = "application/json"
) -> Receipt:
    """Verify one request from Slack and store its event once per practice it concerns.

    Nothing is trusted before a signature checks: the body is parsed only to find which
    connections' secrets may have signed it. A connection with its own app (a pasted
    token) is checked with its own secret, the others with the operator's.
    """
    if len(body) > MAX_BODY_BYTES:
        raise EventTooLarge(f"The body is over {MAX_BODY_BYTES} bytes.")
    data, problem = _parsed(body, content_type)
    # A body that cannot be stored is not routed: only the operator's secret is tried.
    team_ids = [] if problem else _team_ids(data)
    checked: dict[str, bool] = {}

    def signed_with(secret: str) -> bool:
        if secret not in checked:
            checked[secret] = request_is_signed(signing_secret=secret, body=body, headers=headers)
        return checked[secret]

    heard = [
        (practice_id, team_id, last)
        for practice_id, team_id, method, own_secret, last in _candidates(
            None if problem else data, team_ids
        )
        if signed_with(_secret_of(method, own_secret))
    ]
    verified = [(practice_id, team_id) for practice_id, team_id, _ in heard]
    if not verified and not signed_with(settings.SLACK_SIGNING_SECRET):
        raise EventNotSigned("The request is not signed by Slack (bad, stale or missing).")
    _heard_from(heard)
    if problem:
        raise EventRefused(problem)
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise EventRefused("The body is not a Slack request: it has no `type`.")
    kind = data["type"]
    if kind == "url_verification":
        if not isinstance(data.get("challenge"), str):
            raise EventRefused("A url_verification request must carry a `challenge`.")
        return Receipt(challenge=data["challenge"])
    if content_type == FORM_CONTENT_TYPE:
        event_id, event_type = _interaction_key(data, body)
    elif kind == "event_callback":
        event_id, event_type = _event_callback_key(data)
    else:
        logger.info("Slack sent %s for %s: acknowledged, nothing to do", kind, team_ids)
        return Receipt()
    if not verified:
        logger.warning(
            "Slack event %s (%s) for team %s, which no practice has connected: not stored",
            event_id,
            event_type,
            ", ".join(team_ids) or "(none named)",
        )
        return Receipt()
    stored = sum(
        event_store(
            practice_id=practice_id,
            event_id=event_id,
            team_id=team_id,
            event_type=event_type,
            payload=data,
        )
        for practice_id, team_id in dict.fromkeys(verified)
    )
    return Receipt(stored=stored, duplicates=len(set(verified)) - stored)


def _event_callback_key(data: dict) -> tuple[str, str]:
    event_id, event = data.get("event_id"), data.get("event")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 64:
        raise EventRefused("An event_callback must carry an `event_id`.")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise EventRefused("An event_callback must carry an `event` with a `type`.")
    return event_id, event["type"][:64]


def _interaction_key(data: dict, body: bytes) -> tuple[str, str]:
    """Interactivity has no event id: its trigger id (or the body's hash) keys it once."""
    trigger = data.get("trigger_id")
    if isinstance(trigger, str) and 0 < len(trigger) <= 52:
        return f"interaction:{trigger}", data["type"][:64]
    return f"interaction:{hashlib.sha256(body).hexdigest()[:48]}", data["type"][:64]


def event_store(
    *, practice_id: int, event_id: str, team_id: str, event_type: str, payload: dict
) -> bool:
    """Store the event once for the practice (False: a redelivery); processing is queued
    after commit, so the worker always finds the row."""
    event = SlackEvent(
        practice_id=practice_id,
        event_id=event_id,
        team_id=team_id,
        type=event_type,
        payload=payload,
    )
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():
                event.save(force_insert=True)
        else:
            event.save(force_insert=True)
    except IntegrityError:
        return False
    event_enqueue(event_pk=event.pk, practice_id=practice_id)
    return True


def event_enqueue(*, event_pk: int, practice_id: int) -> None:
    """Queue processing once the transaction commits; a broker that cannot be reached
    leaves the stored event to the recovery sweep instead of failing the delivery."""

    def enqueue() -> None:
        try:
            slack_event_process.delay(practice_id=practice_id, event_pk=event_pk)
        except OperationalError as error:
            logger.warning("Slack event %s stored, not queued: %s", event_pk, error)

    transaction.on_commit(enqueue)


# --- Dispatch -------------------------------------------------------------------------
# --- Processing -----------------------------------------------------------------------
def _claim_lapses_before(now: dt.datetime) -> dt.datetime:
    """A claim older than the task's hard time limit belongs to a worker that was killed."""
    lapse = dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) + CLAIM_MARGIN
    return now - max(lapse, RECOVER_AFTER)


def event_claim(*, event_pk: int, now: dt.datetime | None = None) -> bool:
    """Take the event for one attempt with a conditional UPDATE; False when it is done
    or claimed by a worker still within its time limit. The claim counts the attempt."""
    now = now or timezone.now()
    takeable = Q(status=EventStatus.RECEIVED) | Q(
        status=EventStatus.PROCESSING, claimed_at__lt=_claim_lapses_before(now)
    )
    return (
        SlackEvent.objects.filter(takeable, pk=event_pk).update(
            status=EventStatus.PROCESSING,
            claimed_at=now,
            retry_at=None,
            attempts=F("attempts") + 1,
        )
        == 1
    )


def _status_of(event_pk: int) -> str:
    status = SlackEvent.objects.filter(pk=event_pk).values_list("status", flat=True).first()
    return status or "gone"


def event_process(*, event_pk: int) -> str:
    """Run the event's handler once; returns the event's new status. An error leaves the
    event claimed for the task to record (`event_attempt_failed`)."""
    if not event_claim(event_pk=event_pk):
        return _status_of(event_pk)
    event = SlackEvent.objects.select_related("practice").get(pk=event_pk)
    handler = HANDLERS.get(event.type)
    connection = SlackConnection.objects.filter(practice_id=event.practice_id).first()
    if handler is None:
        status, note = EventStatus.IGNORED, ""
    elif connection is None or connection.team_id != event.team_id:
        status = EventStatus.IGNORED
        note = "The practice is no longer connected to this Slack workspace."
    else:
        status, note = handler(event, connection), ""
    SlackEvent.objects.filter(pk=event_pk, status=EventStatus.PROCESSING).update(
        status=status, processed_at=timezone.now(), claimed_at=None, error=note
    )
    return status


def event_attempt_failed(
    *, event_pk: int, error: Exception, give_up: bool = False, now: dt.datetime | None = None
) -> int | None:
    """Record a failed attempt. Returns the countdown to the next one, or None when the
    event is failed for good: a permanent error, the last attempt, or `give_up`."""
    now = now or timezone.now()
    message = f"{error.__class__.__name__}: {error}"[:2000]
    attempts = (
        SlackEvent.objects.filter(pk=event_pk, status=EventStatus.PROCESSING)
        .values_list("attempts", flat=True)
        .first()
    )
    if attempts is None:
        return None  # finished (or taken over) meanwhile
    permanent = isinstance(error, MalformedEvent) or (
        isinstance(error, IntegrationError) and error.permanent
    )
    mine = SlackEvent.objects.filter(pk=event_pk, status=EventStatus.PROCESSING)
    if give_up or permanent or attempts >= MAX_EVENT_ATTEMPTS:
        mine.update(status=EventStatus.FAILED, error=message, claimed_at=None, retry_at=None)
        logger.warning("Slack event %s failed after %s attempt(s): %s", event_pk, attempts, error)
        return None
    countdown = retry_countdown(attempts - 1)
    if asked := getattr(error, "retry_after", None):
        countdown = max(countdown, math.ceil(asked))  # Slack said how long to wait
    mine.update(
        status=EventStatus.RECEIVED,
        error=message,
        claimed_at=None,
        retry_at=now + dt.timedelta(seconds=countdown),
    )
    return countdown


def event_process_again(*, event: SlackEvent, actor: User | None) -> None:
    """Queue a failed event again (from the admin, once what its error says is fixed),
    with its full round of attempts; what its handler does is harmless twice."""
    with transaction.atomic(durable=True):
        again = SlackEvent.objects.filter(pk=event.pk, status=EventStatus.FAILED).update(
            status=EventStatus.RECEIVED, attempts=0, retry_at=timezone.now()
        )
        if again:
            audit_record(
                practice=event.practice, actor=actor, action="slack_event.again", obj=event
            )
            event_enqueue(event_pk=event.pk, practice_id=event.practice_id)


# --- Recovery -------------------------------------------------------------------------
def events_stuck(now: dt.datetime) -> Q:
    """Events whose message looks lost: received (or due for a retry) over RECOVER_AFTER
    ago and not taken, or claimed by a worker past its time limit."""
    overdue = now - RECOVER_AFTER
    waiting = Q(status=EventStatus.RECEIVED) & (
        Q(retry_at__lt=overdue) | Q(retry_at__isnull=True, received_at__lt=overdue)
    )
    return waiting | Q(status=EventStatus.PROCESSING, claimed_at__lt=_claim_lapses_before(now))


def events_recover(*, practice_id: int, now: dt.datetime | None = None) -> int:
    """Queue again the practice's stuck events; returns how many. Each is taken with a
    conditional UPDATE (still stuck, due now), so two sweeps at once queue it once; one
    whose processing killed its worker at every attempt is failed with that reason."""
    now = now or timezone.now()
    stuck = SlackEvent.objects.filter(events_stuck(now), practice_id=practice_id)
    queued = 0
    rows = stuck.order_by("received_at").values_list("pk", "status", "attempts")
    for event_pk, status, attempts in rows[:RECOVER_BATCH]:
        taken = stuck.filter(pk=event_pk, status=status)
        if status == EventStatus.PROCESSING and attempts >= MAX_EVENT_ATTEMPTS:
            taken.update(
                status=EventStatus.FAILED,
                claimed_at=None,
                error=f"The worker processing it stopped at each of {attempts} attempts.",
            )
            continue
        with transaction.atomic():
            changes = {"status": EventStatus.RECEIVED, "claimed_at": None, "retry_at": now}
            if status == EventStatus.PROCESSING:
                changes["error"] = "The worker processing it stopped; queued again."
            if taken.update(**changes):
                event_enqueue(event_pk=event_pk, practice_id=practice_id)
                queued += 1
    if queued:
        logger.warning("Re-enqueued %s Slack events of practice %s", queued, practice_id)
    return queued


# --- The tasks ------------------------------------------------------------------------
@shared_task(base=PracticeTask, bind=True, max_retries=MAX_EVENT_ATTEMPTS)
def slack_event_process(self, *, practice_id: int, event_pk: int) -> str:
    """Process one stored event; attempts are counted on the row, so a copy the recovery
    sweep queued carries on the same count. In-process (no worker to retry later) a
    failure is final and shown on the event."""
    try:
        return event_process(event_pk=event_pk)
    except Exception as error:
        countdown = event_attempt_failed(event_pk=event_pk, error=error, give_up=self.is_eager)
        if countdown is None:
            return _status_of(event_pk)
        raise self.retry_later(error, countdown=countdown) from error


@shared_task(base=PracticeTask)
def slack_events_recover(*, practice_id: int) -> int:
    """Beat's recovery sweep, for one practice (`events_recover`)."""
    return events_recover(practice_id=practice_id)
