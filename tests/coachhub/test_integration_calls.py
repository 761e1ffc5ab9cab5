"""The integration call log: every outside call leaves a row a coach can read — Stripe,
e-mail, external calendars — with its outcome and never a secret; beat prunes old rows;
the admin filters them and keeps each practice's rows to its own staff."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail.backends.base import BaseEmailBackend
from django.test import TestCase
from django.utils import timezone
from django_scopes import scopes_disabled

from billing import services as billing_services
from coachhub.calls import calls_prune, secrets_masked
from coachhub.models import CallOutcome, CallProvider, IntegrationCall
from coachhub.tenancy import practice_scope
from sessions_app.models import ExternalCalendar, Session
from sessions_app.notifications import session_notify
from sessions_app.services import external_calendar_refresh, reminder_send

from ..kit.feeds import FeedServer
from ..kit.http import login
from ..kit.stripe import connect, serving_standin
from .test_admin import make_staff

pytestmark = pytest.mark.django_db


class RefusingBackend(BaseEmailBackend):
    """A mail server that is down: every hand-over fails as smtplib's would."""

    def send_messages(self, messages):
        raise ConnectionRefusedError(111, "Connection refused")


@pytest.fixture
def feed_server():
    server = FeedServer()
    yield server
    server.close()


def calls(**filters):
    with scopes_disabled():
        return list(IntegrationCall.objects.filter(**filters).order_by("pk"))


# --- Stripe -------------------------------------------------------------------------
def test_stripe_calls_are_recorded_and_a_refused_key_never_stored(world, settings):
    home = world.home
    with serving_standin(settings, deliver=False) as standin:
        connect(home.practice, home.owner, standin)
        (verified,) = calls(provider=CallProvider.STRIPE)
        assert verified.operation == "account.verify" and verified.outcome == CallOutcome.OK
        wrong = "rk_test_NotARealKeyButLongEnough1234"  # Stripe answers 401
        with scopes_disabled(), pytest.raises(ValidationError):
            billing_services.stripe_account_connect(
                practice=home.practice, actor=home.owner, secret_key=wrong
            )
    refused = calls(provider=CallProvider.STRIPE)[-1]
    assert refused.outcome == CallOutcome.FAILED and refused.error
    assert wrong not in refused.error and "NotARealKey" not in refused.error
    assert refused.practice_id == home.practice.pk


def test_a_key_echoed_in_an_error_is_masked():
    text = (
        "Invalid API Key provided: sk_live_51HxAbCdEfGh1234 (whsec_abcdefgh5678, xoxb-1-2-abcd9999)"
    )
    masked = secrets_masked(text)
    assert "51HxAbCdEfGh" not in masked and "abcdefgh" not in masked and "xoxb-1-2" not in masked
    assert "sk_live_…1234" in masked and "whsec_…5678" in masked and "xoxb-…9999" in masked


# --- E-mail -------------------------------------------------------------------------
def test_each_session_email_is_recorded_with_its_kind_subject_and_recipient(world):
    home = world.home
    session = home.objects["session"]
    session_notify(practice_id=home.practice.pk, session_id=session.pk, kind="rescheduled")
    sent = calls(provider=CallProvider.EMAIL)
    assert len(sent) == len(mail.outbox) >= 2  # the client's and the coach's
    assert {call.recipient for call in sent} == {m.to[0] for m in mail.outbox}
    for call in sent:
        assert call.operation == "session.rescheduled" and call.outcome == CallOutcome.OK
        assert (call.subject_type, call.subject_id) == ("sessions_app.session", session.pk)
        assert call.engagement_id == session.engagement_id
        assert call.purpose == "Rescheduled-session e-mail (a session)"


def test_a_mail_server_down_is_recorded_as_failed_on_the_last_attempt(world, settings):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    home = world.home
    session = home.objects["session"]
    # In-process (no worker to try again): the e-mail is not sent, and the log says so.
    queued = session_notify.delay(
        practice_id=home.practice.pk, session_id=session.pk, kind="cancelled"
    )
    assert queued.get() == 0
    (failed,) = calls(provider=CallProvider.EMAIL)
    assert failed.outcome == CallOutcome.FAILED and "Connection refused" in failed.error
    assert failed.recipient


def test_reminders_nobody_got_are_recorded_as_to_be_tried_again(world, settings):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    home = world.home
    with scopes_disabled():
        session = Session.objects.select_related(
            "practice", "coach", "client", "engagement", "booking_link"
        ).get(pk=home.objects["session"].pk)
    with practice_scope(home.practice):
        assert not reminder_send(session=session, lead_minutes=60, now=timezone.now())
    rows = calls(provider=CallProvider.EMAIL)
    assert rows and {row.outcome for row in rows} == {CallOutcome.RETRYING}
    assert {row.operation for row in rows} == {"session.reminder"}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with practice_scope(home.practice):
        assert reminder_send(session=session, lead_minutes=60, now=timezone.now())
    assert {row.outcome for row in calls(provider=CallProvider.EMAIL)[len(rows) :]} == {
        CallOutcome.OK
    }


def test_an_invitation_email_is_recorded(world):
    from coachhub.invitations import invitation_email_send

    invitation = world.home.objects["invitation"]
    assert invitation_email_send(practice_id=world.home.practice.pk, invitation_id=invitation.pk)
    (row,) = calls(provider=CallProvider.EMAIL)
    assert row.operation == "invitation" and row.recipient == invitation.email
    assert row.engagement_id is None and row.outcome == CallOutcome.OK


# --- External calendars -----------------------------------------------------------------
def test_calendar_fetches_are_recorded_and_a_failure_will_be_tried_again(world, feed_server):
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with scopes_disabled():
        calendar = ExternalCalendar.objects.create(
            practice=world.home.practice, coach=world.home.coach, url=feed_server.url
        )
        assert external_calendar_refresh(calendar=calendar, now=now) == "updated"
        feed_server.status = 503
        calendar.etag = ""
        assert external_calendar_refresh(calendar=calendar, now=now) == "failed"
    ok, failed = calls(provider=CallProvider.CALENDAR)
    assert ok.operation == "feed.fetch" and ok.outcome == CallOutcome.OK
    assert (ok.subject_type, ok.subject_id) == ("sessions_app.externalcalendar", calendar.pk)
    assert failed.outcome == CallOutcome.RETRYING and "503" in failed.error


# --- Pruning ------------------------------------------------------------------------
def _call_at(practice, when, **fields):
    with scopes_disabled():
        row = IntegrationCall.objects.create(
            practice=practice,
            provider=fields.pop("provider", CallProvider.SLACK),
            operation=fields.pop("operation", "chat.postMessage"),
            outcome=fields.pop("outcome", CallOutcome.OK),
            **fields,
        )
        IntegrationCall.objects.filter(pk=row.pk).update(created_at=when)
    return row


def test_prune_deletes_only_rows_older_than_the_kept_days(world, settings):
    from coachhub.tasks import integration_calls_prune

    settings.INTEGRATION_CALLS_KEEP_DAYS = 30
    now = timezone.now()
    old = [_call_at(world.home.practice, now - dt.timedelta(days=31)) for _ in range(5)]
    old.append(_call_at(world.other.practice, now - dt.timedelta(days=400)))
    kept = [
        _call_at(world.home.practice, now - dt.timedelta(days=29)),
        _call_at(world.other.practice, now),
    ]
    with scopes_disabled():
        assert calls_prune(now=now, batch=2) == len(old)  # in batches of two
    assert {row.pk for row in calls()} == {row.pk for row in kept}
    assert integration_calls_prune() == 0  # beat's task: nothing left to prune
    assert "integration-calls-prune" in settings.CELERY_BEAT_SCHEDULE


# --- Where the log is read ------------------------------------------------------------------
def test_the_engagement_and_collection_pages_list_their_calls(world, as_member):
    home = world.home
    engagement = home.objects["engagement"]
    _call_at(
        home.practice,
        timezone.now(),
        provider=CallProvider.EMAIL,
        operation="session.reminder",
        subject_type="sessions_app.session",
        subject_id=home.objects["session"].pk,
        engagement_id=engagement.pk,
        recipient="client-home@example.org",
        outcome=CallOutcome.FAILED,
        error="(550, b'Mailbox unavailable')",
    )
    _call_at(home.practice, timezone.now(), operation="price.create", error="not this one")
    owner = as_member("owner")
    for url in (engagement.get_absolute_url(), home.objects["collection"].get_absolute_url()):
        page = owner.get(url).content.decode()
        assert "Reminder e-mail (a session)" in page and "client-home@example.org" in page
        assert "Failed for good" in page and "Mailbox unavailable" in page
        assert "not this one" not in page


def test_a_page_with_no_calls_says_so(world, as_member):
    page = as_member("owner").get(world.home.objects["engagement"].get_absolute_url())
    assert (
        "Nothing sent to Slack, Stripe or by e-mail for this engagement yet."
        in page.content.decode()
    )


def test_admin_filters_the_log_and_keeps_other_practices_rows_out(world):
    now = timezone.now()
    slack_failed = _call_at(
        world.home.practice, now, outcome=CallOutcome.FAILED, error="channel_not_found"
    )
    _call_at(world.home.practice, now, provider=CallProvider.STRIPE, operation="checkout.create")
    theirs = _call_at(world.other.practice, now, operation="ZZTHEIRS.op")
    staff = login(make_staff(world.home.owner), world.home.practice)
    page = staff.get("/admin/coachhub/integrationcall/").content.decode()
    assert "chat.postMessage" in page and "checkout.create" in page and "ZZTHEIRS" not in page
    filtered = staff.get(
        "/admin/coachhub/integrationcall/?provider__exact=slack&outcome__exact=failed"
    ).content.decode()
    assert "chat.postMessage" in filtered and "checkout.create" not in filtered
    searched = staff.get("/admin/coachhub/integrationcall/?q=channel_not_found").content.decode()
    assert "1 integration call" in searched
    _call_at(world.home.practice, now - dt.timedelta(days=20), operation="events.list")
    assert "events.list" in staff.get("/admin/coachhub/integrationcall/").content.decode()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    window = {"created_at__gte": today, "created_at__lt": today + dt.timedelta(days=1)}
    dated = staff.get(
        f"/admin/coachhub/integrationcall/?{urlencode(window)}"  # the filter's "Today"
    ).content.decode()
    assert "chat.postMessage" in dated and "events.list" not in dated
    own = staff.get(f"/admin/coachhub/integrationcall/{slack_failed.pk}/change/")
    assert own.status_code == 200 and "channel_not_found" in own.content.decode()
    assert staff.get(f"/admin/coachhub/integrationcall/{theirs.pk}/change/").status_code == 404
    assert staff.get("/admin/coachhub/integrationcall/add/").status_code == 403
    with TestCase.captureOnCommitCallbacks(execute=True):
        staff.post(
            f"/admin/coachhub/integrationcall/{slack_failed.pk}/change/", {"error": "edited"}
        )
    with scopes_disabled():
        slack_failed.refresh_from_db()
    assert slack_failed.error == "channel_not_found"
