"""Booking through a public link, end to end, as a visitor would: slots in their zone,
the confirmation with its invite, a taken time, group capacity, bad input answered, and
the coach's feed following along (cancel and reschedule: test_booking_changes.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django_scopes import scopes_disabled

from sessions_app import services
from sessions_app.models import Booking, Session, SessionStatus

from ..kit.booking import TOKYO, book, first_slots, invite_of, open_all_week, slots_url


@pytest.mark.django_db
def test_visitor_books_in_their_zone_gets_invite_cancels_and_feed_follows(
    world, client, django_capture_on_commit_callbacks
):
    home = world.home
    link = open_all_week(home.practice, home.coach)
    slots = first_slots(client, link)
    assert slots and all(slot.endswith("+09:00") for slot in slots)  # shown in Tokyo time
    chosen = slots[5]
    # The page shows the same times, on the visitor's clock.
    page = client.get(f"/book/{link.practice.slug}/{link.slug}/?tz={TOKYO}&from={chosen[:10]}")
    assert f">{chosen[11:16]}</a>" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = book(client, link, chosen)
    assert response.status_code == 302
    manage_path = response["Location"]
    assert manage_path.startswith("/booking/")

    page = client.get(manage_path)
    assert page.status_code == 200
    assert "You&#x27;re booked" in page.content.decode() or "You're booked" in page.content.decode()

    with scopes_disabled():
        booking = Booking.objects.select_related("session", "client").get(
            client__email="visitor@example.net"
        )
    session = booking.session
    assert session.status == SessionStatus.SCHEDULED
    assert session.starts_at == dt.datetime.fromisoformat(chosen)
    assert booking.client.time_zone == TOKYO

    # The confirmation carries an invite that a calendar imports.
    visitor_mail = [m for m in mail.outbox if m.to == ["visitor@example.net"]]
    assert len(visitor_mail) == 1
    calendar = invite_of(visitor_mail[0])
    assert str(calendar["METHOD"]) == "REQUEST"
    event = calendar.walk("VEVENT")[0]
    uid = str(event["UID"])
    assert event["DTSTART"].dt == dt.datetime.fromisoformat(chosen)
    assert event.decoded("SEQUENCE") == 0
    tzids = {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")}
    assert event["DTSTART"].params["TZID"] in tzids  # every TZID has its VTIMEZONE
    # It links the session in the visitor's portal (no sign-in token: calendars keep
    # invites), never the coach's session page; the e-mail's own text signs in.
    portal_page = f"/portal/{home.practice.slug}/sessions/{session.public_id}/"
    assert str(event["URL"]).endswith(portal_page)
    assert str(event["DESCRIPTION"]).endswith(portal_page)
    assert f"{portal_page}?sesame=" in visitor_mail[0].body
    assert f"8000{session.get_absolute_url()}" not in str(event["DESCRIPTION"])
    attendees = event.get("ATTENDEE")
    attendees = attendees if isinstance(attendees, list) else [attendees]
    assert [str(a) for a in attendees] == ["mailto:visitor@example.net"]
    assert str(event["ORGANIZER"]) == f"mailto:{home.coach.email}"

    # The coach's feed shows the session.
    with scopes_disabled():
        feed = services.feed_token_for(practice=home.practice, coach=home.coach)
    feed_body = client.get(f"/calendar/{feed.token}.ics").content
    assert uid.encode() in feed_body

    # Cancel through the link in the confirmation.
    mail.outbox.clear()
    token = manage_path.split("/")[2]
    assert client.get(f"/booking/{token}/cancel/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/booking/{token}/cancel/").status_code == 302
    session.refresh_from_db()
    assert session.status == SessionStatus.CANCELLED

    cancel_mail = [m for m in mail.outbox if m.to == ["visitor@example.net"]]
    cancel = invite_of(cancel_mail[0])
    assert str(cancel["METHOD"]) == "CANCEL"
    cancelled_event = cancel.walk("VEVENT")[0]
    assert str(cancelled_event["UID"]) == uid
    assert cancelled_event.decoded("SEQUENCE") > 0

    # …and the feed drops it.
    assert uid.encode() not in client.get(f"/calendar/{feed.token}.ics").content
    # The freed time is offered again.
    assert chosen in first_slots(client, link)


@pytest.mark.django_db
def test_booked_time_is_no_longer_offered_and_a_second_booking_is_told_it_was_taken(world, client):
    link = open_all_week(world.home.practice, world.home.coach)
    chosen = first_slots(client, link)[3]
    assert book(client, link, chosen).status_code == 302
    assert chosen not in first_slots(client, link)
    second = book(client, link, chosen, email="late@example.net")
    assert second.status_code == 409
    assert "That time was just taken" in second.content.decode()
    assert "slot" in second.content.decode()  # fresh slots shown with the message


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params, message",
    [
        ({}, "Give start and end dates"),
        ({"start": "2026-13-01", "end": "2026-12-01"}, "YYYY-MM-DD"),
        ({"start": "2026-03-10", "end": "2026-03-01"}, "before the start"),
        (
            {"start": "2026-03-01", "end": "2026-03-05", "tz": "Mars/Olympus"},
            "not a known time zone",
        ),
        ({"start": "2026-01-01", "end": "2026-06-01"}, "at most 92 days"),
        ({"start": "tomorrow", "end": "2026-03-05"}, "YYYY-MM-DD"),
    ],
)
def test_slots_json_bad_input_is_a_400_with_a_message(world, client, params, message):
    link = open_all_week(world.home.practice, world.home.coach)
    response = client.get(slots_url(link, **params))
    assert response.status_code == 400
    assert message in response.json()["error"]


@pytest.mark.django_db
def test_public_bad_input_is_answered_never_a_500(world, client):
    link = open_all_week(world.home.practice, world.home.coach)
    base = f"/book/{link.practice.slug}/{link.slug}"
    assert client.get(f"/book/{link.practice.slug}/nope/").status_code == 404
    assert (
        client.get(
            f"/book/no-practice/{link.slug}/slots?start=2026-01-01&end=2026-01-02"
        ).status_code
        == 404
    )
    assert client.get(f"{base}/confirm/").status_code == 400  # no time chosen
    assert client.get(f"{base}/confirm/?start=garbage").status_code == 400
    assert client.get(f"{base}/confirm/?start=2026-01-01T10:00:00").status_code == 400  # no offset
    chosen = first_slots(client, link)[0]
    bad_email = book(client, link, chosen, email="not-an-email")
    assert bad_email.status_code == 400
    assert "e-mail" in bad_email.content.decode().lower()
    past = book(client, link, "2020-01-01T10:00:00+00:00")
    assert past.status_code == 409
    assert client.get(f"{base}/?tz=Not/AZone").status_code == 200  # falls back to the practice zone
    assert client.get(f"{base}/?from=notadate").status_code == 200
    for far in ["9999-12-31", "9999-12-25", "0001-01-01"]:
        assert client.get(f"{base}/?from={far}").status_code == 200, far
    for start in [
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        "9999-12-31T23:59:59+00:00",
        "0001-01-01T00:00:00+00:00",
    ]:
        assert client.get(f"{base}/confirm/", {"start": start}).status_code == 400, start
        assert book(client, link, start).status_code == 400, start
    assert client.get("/booking/forged-token/").status_code == 404
    assert client.post("/booking/forged-token/cancel/").status_code == 404
    assert client.get("/booking/forged-token/invite.ics").status_code == 404
    assert client.get("/calendar/wrong-token.ics").status_code == 404


@pytest.mark.django_db
def test_group_link_fills_to_capacity(world):
    home = world.home
    workshop = home.objects["workshop"]
    link = open_all_week(home.practice, home.coach, capacity=2, engagement=workshop, slug="group")
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    slot = now + dt.timedelta(days=8, hours=1)
    with scopes_disabled():
        first = services.booking_create(
            link=link, name="A", email="a@example.net", starts_at=slot, time_zone="UTC", now=now
        )
        second = services.booking_create(
            link=link, name="B", email="b@example.net", starts_at=slot, time_zone="UTC", now=now
        )
        assert first.session_id == second.session_id
        from sessions_app.selectors import link_slots

        window = {"window_start": slot, "window_end": slot + dt.timedelta(hours=1), "now": now}
        assert slot not in link_slots(link, **window)
        with pytest.raises(services.SlotTaken):
            services.booking_create(
                link=link,
                name="C",
                email="c@example.net",
                starts_at=slot,
                time_zone="UTC",
                now=now,
            )
        services.booking_cancel(booking=first, now=now)
        assert slot in link_slots(link, **window)
        assert Session.objects.get(pk=second.session_id).status == SessionStatus.SCHEDULED


@pytest.mark.django_db
def test_do_not_send_our_invite_leaves_the_ics_out(
    world, client, django_capture_on_commit_callbacks
):
    link = open_all_week(world.home.practice, world.home.coach)
    chosen = first_slots(client, link)[1]
    with scopes_disabled():
        services.booking_create(
            link=link,
            name="V",
            email="noinvite@example.net",
            starts_at=dt.datetime.fromisoformat(chosen),
            time_zone="UTC",
        )
        session = Session.objects.get(client__email="noinvite@example.net")
        session.engagement.send_platform_invite = False
        session.engagement.save(update_fields=["send_platform_invite"])
    mail.outbox.clear()
    with scopes_disabled(), django_capture_on_commit_callbacks(execute=True):
        services.session_reschedule(
            session=session,
            actor=world.home.coach,
            starts_at=dt.datetime.fromisoformat(chosen) + dt.timedelta(hours=5),
        )
    assert mail.outbox
    assert all(not m.attachments for m in mail.outbox)


@pytest.mark.django_db
def test_feed_token_rotation_kills_the_old_address(world, as_member, client):
    with scopes_disabled():
        feed = services.feed_token_for(practice=world.home.practice, coach=world.home.coach)
    old = feed.token
    assert client.get(f"/calendar/{old}.ics").status_code == 200
    as_member("coach").post("/availability/feed/rotate/")
    assert client.get(f"/calendar/{old}.ics").status_code == 404
    with scopes_disabled():
        feed.refresh_from_db()
    assert client.get(f"/calendar/{feed.token}.ics").status_code == 200


@pytest.mark.django_db
def test_each_place_taken_in_a_group_slot_tells_only_its_taker_and_the_coach(
    world, django_capture_on_commit_callbacks
):
    """The people already booked are not sent "Confirmed" again whenever someone joins."""
    home = world.home
    workshop = home.objects["workshop"]
    link = open_all_week(home.practice, home.coach, capacity=3, engagement=workshop, slug="group")
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    slot = now + dt.timedelta(days=8, hours=1)
    for name in ("A", "B", "C"):
        mail.outbox.clear()
        with scopes_disabled(), django_capture_on_commit_callbacks(execute=True):
            services.booking_create(
                link=link,
                name=name,
                email=f"{name.lower()}@example.net",
                starts_at=slot,
                time_zone="UTC",
                now=now,
            )
        recipients = sorted(message.to[0] for message in mail.outbox)
        assert recipients == sorted([f"{name.lower()}@example.net", home.coach.email])
        coach_copy = next(m for m in mail.outbox if m.to == [home.coach.email])
        assert coach_copy.subject.startswith(f"{name} booked")
