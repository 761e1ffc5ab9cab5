"""Every session with attendees gets its invite, its cancellation and its reminders — as a
coach creates the three kinds of engagement from the dashboard (docs/product.md §4)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone
from django_scopes import scopes_disabled

from engagements.models import Engagement, EngagementKind, StepState
from engagements.participants import Participant
from sessions_app import services
from sessions_app.booking_tokens import attendee_token
from sessions_app.models import CreditEntry, ReminderSent, Session, SessionStatus
from sessions_app.notifications import session_notify
from sessions_app.tasks import reminders_send

from ..kit.booking import book, first_slots, invite_of, open_all_week

pytestmark = pytest.mark.django_db


def latest(kind) -> Engagement:
    with scopes_disabled():
        return Engagement.objects.filter(kind=kind).latest("created_at")


def steps_of(engagement) -> dict:
    with scopes_disabled():
        return {step.key: (step.state, step.reason) for step in engagement.steps.all()}


def sessions_of(engagement, **filters) -> list[Session]:
    with scopes_disabled():
        return list(
            Session.objects.filter(engagement=engagement, **filters).order_by("starts_at", "pk")
        )


def mail_to(address: str) -> list:
    return [message for message in mail.outbox if message.to == [address]]


def body_link(message) -> str:
    """The e-mail's own link into the portal (the one that signs in), as a local path."""
    (link,) = [url for url in re.findall(r"https?://\S+", message.body) if "sesame=" in url]
    return link.removeprefix("http://127.0.0.1:8000")


def event_of(message):
    calendar = invite_of(message)
    (event,) = calendar.walk("VEVENT")
    return str(calendar["METHOD"]), event


def local_input(days: int, hour: int) -> str:
    day = timezone.now().date() + dt.timedelta(days=days)
    return f"{day:%Y-%m-%d}T{hour:02d}:00"


def per_session_with_a_time(browser, world, *, invite: bool = True, email="nora@example.org"):
    data = {
        "new_client_name": "Nora New",
        "new_client_email": email,
        "coach": world.home.coach.pk,
        "first_session_at": local_input(7, 10),
    }
    if invite:
        data["send_platform_invite"] = "on"
    response = browser.post("/engagements/new/per-session/", data)
    assert response.status_code == 302, response.content.decode()[:400]
    return latest(EngagementKind.PER_SESSION)


# --- Per-session coaching -------------------------------------------------------------
def test_per_session_set_up_with_a_time_invites_the_client_and_ticks_the_step(
    world, as_member, client, django_capture_on_commit_callbacks
):
    coach = as_member("coach")
    with django_capture_on_commit_callbacks(execute=True):
        engagement = per_session_with_a_time(coach, world)
    (session,) = sessions_of(engagement)
    (to_client,) = mail_to("nora@example.org")
    assert to_client.subject.startswith("Confirmed: ")
    method, event = event_of(to_client)
    assert method == "REQUEST"
    assert str(event["UID"]) == session.ics_uid() and event.decoded("SEQUENCE") == 0
    # The client's invite links that session in their portal without a way in; the
    # e-mail's link signs in there.
    portal_page = f"/portal/{world.home.practice.slug}/sessions/{session.public_id}/"
    assert str(event["URL"]).endswith(portal_page) and "sesame=" not in str(event["URL"])
    assert f"8000{session.get_absolute_url()}" not in str(event["URL"])
    client_link = body_link(to_client)
    assert client_link.startswith(f"{portal_page}?sesame=")
    page = client.get(client_link, follow=True)
    assert page.status_code == 200
    assert session.title in page.content.decode()
    # The coach's copy links the coach's session page.
    (to_coach,) = mail_to(world.home.coach.email)
    _, coach_event = event_of(to_coach)
    assert session.get_absolute_url() in str(coach_event["URL"])
    assert "Reschedule or cancel" not in to_coach.body
    # The checklist step turned done by itself.
    state, reason = steps_of(engagement)["calendar_invite"]
    assert state == StepState.DONE and "nora@example.org" in reason
    assert f"({world.home.coach.time_zone})" in reason  # read by others in other zones

    # A later move is the client's second e-mail, with SEQUENCE 1.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        coach.post(f"/sessions/{session.public_id}/reschedule/", {"starts_at": local_input(9, 11)})
    (moved,) = mail_to("nora@example.org")
    method, event = event_of(moved)
    assert moved.subject.startswith("Moved: ") and event.decoded("SEQUENCE") == 1
    assert str(event["UID"]) == session.ics_uid()


def test_without_our_invite_the_client_is_told_without_an_ics_and_the_step_is_not_applicable(
    world, as_member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        engagement = per_session_with_a_time(as_member("coach"), world, invite=False)
    (to_client,) = mail_to("nora@example.org")
    assert not [a for a in to_client.attachments if a[0].endswith(".ics")]
    assert steps_of(engagement)["calendar_invite"][0] == StepState.NOT_APPLICABLE


def test_scheduling_the_waiting_session_from_the_dashboard_invites_the_client(
    world, as_member, django_capture_on_commit_callbacks
):
    owner = as_member("owner")
    owner.post(
        "/engagements/new/per-session/",
        {
            "client": world.home.objects["client"].pk,
            "coach": world.home.coach.pk,
            "send_platform_invite": "on",
        },
    )
    engagement = latest(EngagementKind.PER_SESSION)
    (waiting,) = sessions_of(engagement)
    assert waiting.status == SessionStatus.TO_SCHEDULE and not mail.outbox
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(
            f"/engagements/{engagement.pk}/sessions/",
            {"starts_at": local_input(12, 9), "minutes": "55"},
        )
    (scheduled,) = sessions_of(engagement)
    assert scheduled.pk == waiting.pk and scheduled.status == SessionStatus.SCHEDULED
    client_email = world.home.objects["client"].email
    (to_client,) = mail_to(client_email)
    method, event = event_of(to_client)
    assert method == "REQUEST" and str(event["UID"]) == waiting.ics_uid()
    assert steps_of(engagement)["calendar_invite"][0] == StepState.DONE

    # Cancelled by the coach: the client gets the CANCEL; the coach's copy offers no
    # "Reschedule or cancel" (that is the client's link).
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(f"/sessions/{waiting.public_id}/status/", {"status": "cancelled"})
    (cancelled,) = mail_to(client_email)
    method, event = event_of(cancelled)
    assert method == "CANCEL" and str(event["UID"]) == waiting.ics_uid()
    (to_coach,) = mail_to(world.home.coach.email)
    assert to_coach.subject.startswith("Cancelled: ")
    assert "Reschedule or cancel" not in to_coach.body


# --- Monthly package ------------------------------------------------------------------
def package_from_the_dashboard(browser, world, *, weekday=1, time="18:30", cadence="weekly"):
    response = browser.post(
        "/engagements/new/monthly-package/",
        {
            "new_client_name": "Pat Package",
            "new_client_email": "pat@example.org",
            "coach": world.home.coach.pk,
            "hours_per_month": "2",
            "cadence": cadence,
            "session_minutes": "60",
            "preferred_weekday": str(weekday),
            "preferred_time": time,
            "starts_on": (timezone.now().date() + dt.timedelta(days=1)).isoformat(),
            "months": "2",
        },
    )
    assert response.status_code == 302, response.content.decode()[:400]
    return latest(EngagementKind.MONTHLY_PACKAGE)


def test_a_monthly_package_sends_one_invite_per_generated_session(
    world, as_member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        engagement = package_from_the_dashboard(as_member("coach"), world)
    sessions = sessions_of(engagement, status=SessionStatus.SCHEDULED)
    assert len(sessions) >= 2
    to_client = mail_to("pat@example.org")
    events = [event_of(message) for message in to_client]
    assert {method for method, _ in events} == {"REQUEST"}
    assert sorted(str(event["UID"]) for _, event in events) == sorted(s.ics_uid() for s in sessions)
    assert all(event.decoded("SEQUENCE") == 0 for _, event in events)
    assert all("/portal/" in str(event["URL"]) for _, event in events)
    assert steps_of(engagement)["recurring_sessions"][0] == StepState.DONE


def test_changing_the_cadence_cancels_dropped_sessions_and_invites_the_new_ones(
    world, as_member, client, django_capture_on_commit_callbacks
):
    coach = as_member("coach")
    with django_capture_on_commit_callbacks(execute=True):
        engagement = package_from_the_dashboard(coach, world, weekday=1, time="18:30")
    before = sessions_of(engagement, status=SessionStatus.SCHEDULED)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = coach.post(
            f"/engagements/{engagement.pk}/schedule/",
            {"cadence": "weekly", "preferred_weekday": 3, "preferred_time": "08:00"},
        )
    assert response.status_code == 302
    with scopes_disabled():
        for session in before:
            session.refresh_from_db()
    # Not deleted: cancelled, their pages still open, nothing consumed.
    assert {s.status for s in before} == {SessionStatus.CANCELLED}
    assert coach.get(before[0].get_absolute_url()).status_code == 200
    with scopes_disabled():
        assert not CreditEntry.objects.filter(engagement=engagement).exists()
    after = sessions_of(engagement, status=SessionStatus.SCHEDULED)
    zone = ZoneInfo(world.home.coach.time_zone)
    assert {s.starts_at.astimezone(zone).strftime("%a %H:%M") for s in after} == {"Thu 08:00"}
    sent = [event_of(message) for message in mail_to("pat@example.org")]
    assert sorted(str(e["UID"]) for m, e in sent if m == "CANCEL") == sorted(
        s.ics_uid() for s in before
    )
    assert sorted(str(e["UID"]) for m, e in sent if m == "REQUEST") == sorted(
        s.ics_uid() for s in after
    )


def test_regenerating_the_same_schedule_keeps_sessions_and_sends_nothing(
    world, as_member, django_capture_on_commit_callbacks
):
    coach = as_member("coach")
    with django_capture_on_commit_callbacks(execute=True):
        engagement = package_from_the_dashboard(coach, world, weekday=2, time="09:00")
    before = {s.pk for s in sessions_of(engagement, status=SessionStatus.SCHEDULED)}
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        coach.post(
            f"/engagements/{engagement.pk}/schedule/",
            {"cadence": "weekly", "preferred_weekday": 2, "preferred_time": "09:00"},
        )
    assert {s.pk for s in sessions_of(engagement, status=SessionStatus.SCHEDULED)} == before
    assert not mail.outbox


# --- Team workshop --------------------------------------------------------------------
def workshop_from_the_dashboard(browser, world, *, participants: str, days=10):
    response = browser.post(
        "/engagements/new/team-workshop/",
        {
            "title": "Conflict workshop",
            "core_subject": "Healthy conflict",
            "coach": world.home.coach.pk,
            "starts_at": local_input(days, 14),
            "session_minutes": "90",
            "participants_text": participants,
            "template": "",
            "agenda": "Opening\nAction plan",
        },
    )
    assert response.status_code == 302, response.content.decode()[:400]
    return latest(EngagementKind.TEAM_WORKSHOP)


def test_every_workshop_participant_gets_the_invite(
    world, as_member, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        engagement = workshop_from_the_dashboard(
            as_member("owner"),
            world,
            participants="Ada Lovelace <ada@acme.test>\nBea Barnes <bea@acme.test>\ncy@acme.test",
        )
    (session,) = sessions_of(engagement)
    for address in ["ada@acme.test", "bea@acme.test", "cy@acme.test"]:
        (message,) = mail_to(address)
        method, event = event_of(message)
        assert method == "REQUEST" and str(event["UID"]) == session.ics_uid()
        attendee = event.get("ATTENDEE")
        assert str(attendee) == f"mailto:{address}"  # each sees only themselves
        client.logout()  # each participant on their own device
        assert "sesame" not in str(event["URL"])
        page = client.get(body_link(message), follow=True)
        assert page.status_code == 200 and "Conflict workshop" in page.content.decode()
        assert "Yes, cancel it" not in page.content.decode()  # one place of a group
    (to_coach,) = mail_to(world.home.coach.email)
    _, event = event_of(to_coach)
    assert len(event.get("ATTENDEE")) == 3
    assert steps_of(engagement)["workshop_session"][0] == StepState.DONE


def test_a_participant_added_later_gets_the_invite_and_nobody_else_is_told_again(
    world, as_member, django_capture_on_commit_callbacks
):
    owner = as_member("owner")
    with django_capture_on_commit_callbacks(execute=True):
        engagement = workshop_from_the_dashboard(
            owner, world, participants="Ada Lovelace <ada@acme.test>"
        )
    (session,) = sessions_of(engagement)
    mail.outbox.clear()
    with scopes_disabled():
        collection = engagement.collection
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(
            f"/collections/{collection.pk}/participants/",
            {"participants_text": "Dee Late <dee@acme.test>\nada@acme.test"},
        )
    assert [m.to for m in mail.outbox] == [["dee@acme.test"]]
    method, event = event_of(mail.outbox[0])
    assert method == "REQUEST" and str(event["UID"]) == session.ics_uid()


# --- Reminders ------------------------------------------------------------------------
def test_reminders_arrive_for_a_recurring_and_a_workshop_session(
    world, as_member, django_capture_on_commit_callbacks
):
    owner = as_member("owner")
    with django_capture_on_commit_callbacks(execute=True):
        package = package_from_the_dashboard(owner, world, weekday=1, time="18:30")
        workshop = workshop_from_the_dashboard(
            owner, world, participants="Ada <ada@acme.test>\nBea <bea@acme.test>", days=20
        )
    mail.outbox.clear()
    first = sessions_of(package, status=SessionStatus.SCHEDULED)[0]
    (team,) = sessions_of(workshop)
    for session, expected in [
        (first, [["pat@example.org"]]),
        (team, [["ada@acme.test"], ["bea@acme.test"]]),
    ]:
        mail.outbox.clear()
        with scopes_disabled():
            rows = ReminderSent.objects.count()
        day_before = session.starts_at - dt.timedelta(hours=24) + dt.timedelta(minutes=1)
        reminders_send(day_before.isoformat())  # the clock moved to a day before
        assert sorted(m.to for m in mail.outbox) == expected
        assert all(m.subject.startswith("Reminder: ") for m in mail.outbox)
        assert all("/portal/" in m.body for m in mail.outbox)  # their own page
        with scopes_disabled():
            assert ReminderSent.objects.count() == rows + 1


def test_no_reminder_is_recorded_when_there_is_nobody_to_remind(world):
    home = world.home
    starts_at = timezone.now().replace(microsecond=0) + dt.timedelta(days=30)
    with scopes_disabled():
        engagement = services.engagement_create_team_workshop(
            practice=home.practice,
            actor=home.owner,
            coach=home.coach,
            title="Empty room",
            core_subject="Nobody yet",
            participants=[],
            starts_at=starts_at,
        )
        (session,) = Session.objects.filter(engagement=engagement)
        sent = services.reminder_send(
            session=session, lead_minutes=60, now=starts_at - dt.timedelta(minutes=59)
        )
        assert sent is False
        assert not ReminderSent.objects.filter(session=session).exists()
    assert not mail.outbox


# --- The client's own page for a session without a booking ---------------------------
def test_the_client_cancels_from_their_page_within_the_rules(
    world, as_member, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        engagement = per_session_with_a_time(as_member("coach"), world)
    (session,) = sessions_of(engagement)
    (invite,) = mail_to("nora@example.org")
    path = client.get(body_link(invite))["Location"]  # signed in; the link's token dropped
    assert path == f"/portal/{world.home.practice.slug}/sessions/{session.public_id}/"
    confirm = client.get(path + "cancel/").content.decode()
    assert "Yes, cancel it" in confirm and "not counted" in confirm
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(path + "cancel/").status_code == 302
    with scopes_disabled():
        session.refresh_from_db()
    assert session.status == SessionStatus.CANCELLED  # a week ahead: not counted
    (cancelled,) = mail_to("nora@example.org")
    assert event_of(cancelled)[0] == "CANCEL"
    assert "Cancelled" in client.get(path).content.decode()
    assert client.post(path + "cancel/").status_code == 400  # once is enough
    assert client.get(path[:-6] + "xx/").status_code == 404  # not one of theirs


# --- What the coach reads -------------------------------------------------------------
def test_the_coach_is_told_who_booked_and_the_feed_names_the_client(
    world, client, django_capture_on_commit_callbacks
):
    home = world.home
    link = open_all_week(home.practice, home.coach, title="Free intro call")
    chosen = first_slots(client, link)[3]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/book/{link.practice.slug}/{link.slug}/confirm/",
            {"start": chosen, "name": "Jonas Berg", "email": "jonas@example.net", "tz": "UTC"},
        )
    assert response.status_code == 302
    (to_coach,) = mail_to(home.coach.email)
    assert to_coach.subject.startswith("Jonas Berg booked Free intro call")
    assert "Reschedule or cancel" not in to_coach.body
    with scopes_disabled():
        feed = services.feed_token_for(practice=home.practice, coach=home.coach)
    body = client.get(f"/calendar/{feed.token}.ics").content.decode().replace("\r\n ", "")
    assert "SUMMARY:Free intro call — Jonas Berg" in body

    token = response["Location"].split("/")[2]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/booking/{token}/cancel/")
    (cancel_notice,) = mail_to(home.coach.email)
    assert "Reschedule or cancel" not in cancel_notice.body
    assert "Jonas Berg" in cancel_notice.subject


def test_a_visitor_booking_is_still_invited_once_with_their_portal_link(
    world, client, django_capture_on_commit_callbacks
):
    link = open_all_week(world.home.practice, world.home.coach)
    with django_capture_on_commit_callbacks(execute=True):
        book(client, link, first_slots(client, link)[1])
    (message,) = mail_to("visitor@example.net")
    assert "/portal/" in str(event_of(message)[1]["URL"])


def test_an_attendee_link_is_only_for_that_attendee_and_expires_after_the_session(world, client):
    home = world.home
    session = home.objects["session"]  # the client has a booking for it
    with scopes_disabled():
        workshop_session = Session.objects.get(engagement=home.objects["workshop"])
        participant = workshop_session.collection.participants.get()
    now = timezone.now()

    def page(session, client_id):
        return client.get(f"/session/{attendee_token(session, client_id, now=now)}/")

    assert page(workshop_session, participant.pk).status_code == 200
    assert page(workshop_session, home.objects["client"].pk).status_code == 404
    assert page(session, home.objects["seat_client"].pk).status_code == 404
    # A client who has a booking after all is sent to the booking's own page.
    redirect = page(session, home.objects["client"].pk)
    assert redirect.status_code == 302 and "/booking/" in redirect["Location"]
    # Another practice's session under a token of ours is not found either.
    with scopes_disabled():
        foreign = Session.objects.get(engagement=world.other.objects["workshop"])
    assert page(foreign, participant.pk).status_code == 404
    token = attendee_token(workshop_session, participant.pk, now=now)
    with time_machine.travel(workshop_session.ends_at + dt.timedelta(days=2)):
        expired = client.get(f"/session/{token}/")
    assert expired.status_code == 410
    assert "ask your coach for a new one" in expired.content.decode()  # the branded 410


class RefusingBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


def test_a_reminder_the_mail_server_refused_is_not_recorded_and_goes_next_time(world, settings):
    home = world.home
    starts_at = timezone.now().replace(microsecond=0) + dt.timedelta(days=30)
    with scopes_disabled():
        engagement = services.engagement_create_team_workshop(
            practice=home.practice,
            actor=home.owner,
            coach=home.coach,
            title="Refused",
            core_subject="Mail",
            participants=[Participant("Ada", "ada@acme.test")],
            starts_at=starts_at,
        )
        (session,) = Session.objects.filter(engagement=engagement)
    due = starts_at - dt.timedelta(minutes=59)
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    reminders_send(due.isoformat())
    with scopes_disabled():
        assert not ReminderSent.objects.filter(session=session).exists()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    reminders_send((due + dt.timedelta(minutes=5)).isoformat())
    with scopes_disabled():
        assert ReminderSent.objects.filter(session=session).count() == 1
    assert [m.to for m in mail.outbox] == [["ada@acme.test"]]


class FlakyBackend(BaseEmailBackend):
    """A mail server that drops the connection once, at the second message of the run."""

    calls = 0

    def send_messages(self, messages):
        FlakyBackend.calls += 1
        if FlakyBackend.calls == 2:
            raise ConnectionResetError("connection dropped")
        mail.outbox.extend(messages)
        return len(messages)


def _workshop_for(home, *, title: str, starts_at, people: int):
    participants = [Participant(f"P{n}", f"p{n}@acme.test") for n in range(people)]
    with scopes_disabled():
        engagement = services.engagement_create_team_workshop(
            practice=home.practice,
            actor=home.owner,
            coach=home.coach,
            title=title,
            core_subject="Mail",
            participants=participants,
            starts_at=starts_at,
        )
        return Session.objects.get(engagement=engagement)


def test_a_mail_server_failing_part_way_sends_nobody_an_invite_twice(
    world, settings, django_capture_on_commit_callbacks, monkeypatch
):
    """The retry a worker runs sends only the invites still owed, not the batch again."""
    home = world.home
    starts_at = timezone.now().replace(microsecond=0) + dt.timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=False):
        session = _workshop_for(home, title="Flaky", starts_at=starts_at, people=3)
    retries = []

    class Retrying(Exception):
        pass

    def retry(exc=None, countdown=None, kwargs=None, **_):
        retries.append(kwargs)
        return Retrying()

    task = session_notify._get_current_object()  # the task itself, not Celery's proxy
    monkeypatch.setattr(task, "retry", retry)
    monkeypatch.setattr(type(task), "is_eager", property(lambda task: False))
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    FlakyBackend.calls = 0
    mail.outbox.clear()
    first = {"practice_id": home.practice.pk, "session_id": session.pk, "kind": "confirmed"}
    with pytest.raises(Retrying):
        task(**first)
    (again,) = retries
    assert again["session_id"] == session.pk and len(again["still_to"]) == 3
    task(**again)
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted(["p0@acme.test", "p1@acme.test", "p2@acme.test", home.coach.email])


def test_a_reminder_the_mail_server_dropped_part_way_is_not_sent_twice(world, settings):
    home = world.home
    starts_at = timezone.now().replace(microsecond=0) + dt.timedelta(days=30)
    session = _workshop_for(home, title="Flaky reminder", starts_at=starts_at, people=3)
    mail.outbox.clear()
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    FlakyBackend.calls = 0
    due = starts_at - dt.timedelta(minutes=59)
    reminders_send(due.isoformat())
    reminders_send((due + dt.timedelta(minutes=5)).isoformat())
    with scopes_disabled():
        assert ReminderSent.objects.filter(session=session).count() == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["p0@acme.test", "p2@acme.test"]
