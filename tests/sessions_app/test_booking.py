"""Booking through a public link, end to end, as a visitor would: slots in their zone,
the confirmation with its invite, reschedule and cancel through the signed link,
and the coach's feed following along."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django_scopes import scopes_disabled

from sessions_app import services
from sessions_app.models import (
    Booking,
    BookingStatus,
    Session,
    SessionStatus,
)

from ..kit.booking import TOKYO, book, first_slots, invite_of, open_all_week, slots_url
from ..kit.factories import seat_client_engagement


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
    assert session.get_absolute_url() in str(event["DESCRIPTION"])
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
    assert client.get("/booking/forged-token/").status_code == 404
    assert client.post("/booking/forged-token/cancel/").status_code == 404
    assert client.get("/booking/forged-token/invite.ics").status_code == 404
    assert client.get("/calendar/wrong-token.ics").status_code == 404


@pytest.mark.django_db
def test_expired_manage_link_is_410_and_a_tampered_one_404(world, client):
    from sessions_app.booking_tokens import manage_token

    booking = world.home.objects["booking"]
    with scopes_disabled():
        booking = Booking.objects.select_related("session").get(pk=booking.pk)
        booking.session.starts_at = dt.datetime(2020, 1, 1, 9, tzinfo=dt.UTC)
        booking.session.ends_at = dt.datetime(2020, 1, 1, 10, tzinfo=dt.UTC)
        expired = manage_token(booking, now=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    response = client.get(f"/booking/{expired}/")
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert client.post(f"/booking/{expired}/cancel/").status_code == 410
    tampered = expired[:-3] + ("abc" if not expired.endswith("abc") else "xyz")
    assert client.get(f"/booking/{tampered}/").status_code == 404


@pytest.mark.django_db
def test_reschedule_keeps_the_uid_raises_sequence_and_respects_limits(
    world, client, django_capture_on_commit_callbacks
):
    link = open_all_week(world.home.practice, world.home.coach, max_reschedules=1)
    slots = first_slots(client, link)
    token = book(client, link, slots[2])["Location"].split("/")[2]
    mail.outbox.clear()
    page = client.get(f"/booking/{token}/reschedule/")
    assert page.status_code == 200
    # Overlapping its own current time is fine when moving by an hour.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/booking/{token}/reschedule/", {"start": slots[3]})
    assert response.status_code == 302
    with scopes_disabled():
        booking = Booking.objects.select_related("session").get(client__email="visitor@example.net")
    assert booking.session.starts_at == dt.datetime.fromisoformat(slots[3])
    assert booking.session.sequence == 1
    assert booking.reschedule_count == 1
    moved = invite_of([m for m in mail.outbox if m.to == ["visitor@example.net"]][0])
    assert moved.walk("VEVENT")[0].decoded("SEQUENCE") == 1
    assert str(moved.walk("VEVENT")[0]["UID"]) == booking.session.ics_uid()
    again = client.post(f"/booking/{token}/reschedule/", {"start": slots[6]})
    assert again.status_code == 400
    assert "rescheduled 1 times, the most allowed" in again.content.decode()


@pytest.mark.django_db
def test_reschedule_inside_the_cutoff_is_refused(world):
    link = open_all_week(world.home.practice, world.home.coach, reschedule_cutoff_hours=48)
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    with scopes_disabled():
        booking = services.booking_create(
            link=link,
            name="Cut Off",
            email="cut@example.net",
            starts_at=now + dt.timedelta(hours=30),
            time_zone="UTC",
        )
        with pytest.raises(ValidationError, match="up to 48 hours before"):
            services.booking_reschedule(booking=booking, starts_at=now + dt.timedelta(hours=60))


@pytest.mark.django_db
def test_late_cancel_counts_as_used_and_timely_cancel_restores_the_seat_allowance():
    practice, owner, seat, engagement = seat_client_engagement(
        year=2030, chosen_at=dt.datetime(2030, 1, 2, tzinfo=dt.UTC), name="Cancel"
    )
    from sessions_app.allowances import seat_allowance

    with scopes_disabled():
        link = open_all_week(practice, owner)
        now = dt.datetime(2030, 3, 1, 8, tzinfo=dt.UTC)
        email = engagement.client.email
        early = services.booking_create(
            link=link,
            name="S",
            email=email,
            starts_at=dt.datetime(2030, 3, 10, 10, tzinfo=dt.UTC),
            time_zone="UTC",
            now=now,
        )
        late = services.booking_create(
            link=link,
            name="S",
            email=email,
            starts_at=dt.datetime(2030, 3, 11, 10, tzinfo=dt.UTC),
            time_zone="UTC",
            now=now,
        )
        assert early.session.consumes == "seat_month"
        assert seat_allowance(seat, at=now).used == 2
        # A third in March is beyond the allowance of 2.
        with pytest.raises(ValidationError, match="used all 2 sessions"):
            services.booking_create(
                link=link,
                name="S",
                email=email,
                starts_at=dt.datetime(2030, 3, 12, 10, tzinfo=dt.UTC),
                time_zone="UTC",
                now=now,
            )
        services.booking_cancel(booking=early, now=now)  # days ahead: restored
        services.booking_cancel(booking=late, now=dt.datetime(2030, 3, 11, 0, tzinfo=dt.UTC))
        late.session.refresh_from_db()
        assert late.session.status == SessionStatus.LATE_CANCELLED
        assert seat_allowance(seat, at=now).used == 1


@pytest.mark.django_db
def test_seat_month_boundary_is_the_practice_zone():
    """22:30 UTC on 31 March is 1 April in Auckland: it uses April's allowance."""
    practice, owner, seat, engagement = seat_client_engagement(
        year=2030, chosen_at=dt.datetime(2030, 1, 2, tzinfo=dt.UTC), name="Boundary"
    )
    from sessions_app.allowances import seat_allowance

    with scopes_disabled():
        practice.time_zone = "Pacific/Auckland"
        practice.save(update_fields=["time_zone"])
        link = open_all_week(practice, owner)
        now = dt.datetime(2030, 3, 1, tzinfo=dt.UTC)
        booking = services.booking_create(
            link=link,
            name="S",
            email=engagement.client.email,
            starts_at=dt.datetime(2030, 3, 31, 22, tzinfo=dt.UTC),
            time_zone="UTC",
            now=now,
        )
        assert seat_allowance(seat, at=dt.datetime(2030, 4, 10, tzinfo=dt.UTC)).used == 1
        assert seat_allowance(seat, at=dt.datetime(2030, 3, 10, tzinfo=dt.UTC)).used == 0
        # Not bookable in the past.
        with pytest.raises(ValidationError):
            services.booking_create(
                link=link,
                name="S",
                email=engagement.client.email,
                starts_at=dt.datetime(2030, 2, 27, 10, tzinfo=dt.UTC),
                time_zone="UTC",
                now=now,
            )
        assert booking.session.status == SessionStatus.SCHEDULED


@pytest.mark.django_db
def test_paid_link_holds_the_slot_until_expiry_then_frees_it(world):
    link = open_all_week(world.home.practice, world.home.coach, requires_payment=True)
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    slot = now + dt.timedelta(days=3)
    with scopes_disabled():
        with pytest.raises(ValidationError, match="online payment is not set up"):
            services.booking_create(
                link=link,
                name="P",
                email="payer@example.net",
                starts_at=slot,
                time_zone="UTC",
                now=now,
            )
        hold = services.booking_create(
            link=link,
            name="P",
            email="payer@example.net",
            starts_at=slot,
            time_zone="UTC",
            now=now,
            checkout_ready=True,
        )
        assert hold.status == BookingStatus.HELD
        assert hold.session.hold_expires_at - now >= dt.timedelta(minutes=30)
        with pytest.raises(services.SlotTaken):
            services.booking_create(
                link=link,
                name="Q",
                email="other@example.net",
                starts_at=slot,
                time_zone="UTC",
                now=now + dt.timedelta(minutes=10),
                checkout_ready=True,
            )
        # After the hold expires the slot is offered and can be taken by someone else.
        later = now + dt.timedelta(minutes=31)
        from sessions_app.selectors import link_slots

        assert slot in link_slots(
            link, window_start=slot, window_end=slot + dt.timedelta(hours=1), now=later
        )
        taken = services.booking_create(
            link=link,
            name="Q",
            email="other@example.net",
            starts_at=slot,
            time_zone="UTC",
            now=later,
            checkout_ready=True,
        )
        assert taken.session_id != hold.session_id
        hold.session.refresh_from_db()
        assert hold.session.status == SessionStatus.RELEASED
        with pytest.raises(ValidationError, match="expired"):
            services.booking_hold_confirm(booking=hold, now=later)
        # The second visitor's hold confirms into a scheduled session, once.
        services.booking_hold_confirm(booking=taken, now=later)
        services.booking_hold_confirm(booking=taken, now=later)
        taken.session.refresh_from_db()
        assert taken.session.status == SessionStatus.SCHEDULED


@pytest.mark.django_db
def test_beat_task_releases_expired_holds(world):
    from sessions_app.tasks import holds_release

    link = open_all_week(world.home.practice, world.home.coach, requires_payment=True)
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)
    with scopes_disabled():
        hold = services.booking_create(
            link=link,
            name="P",
            email="payer@example.net",
            starts_at=now + dt.timedelta(days=3),
            time_zone="UTC",
            now=now,
            checkout_ready=True,
        )
    assert holds_release() == 1
    with scopes_disabled():
        hold.refresh_from_db()
        assert hold.status == BookingStatus.CANCELLED


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
def test_coach_reschedules_and_cancels_from_the_dashboard(world, as_member):
    session = world.home.objects["session"]
    browser = as_member("coach")
    new_time = (dt.datetime.now(ZoneInfo("Europe/London")) + dt.timedelta(days=20)).replace(
        hour=11, minute=0, second=0, microsecond=0
    )
    response = browser.post(
        f"/sessions/{session.public_id}/reschedule/",
        {"starts_at": new_time.strftime("%Y-%m-%dT%H:%M")},
    )
    assert response.status_code == 302
    with scopes_disabled():
        session.refresh_from_db()
    assert session.starts_at == new_time.astimezone(dt.UTC)
    assert session.sequence == 1
    browser.post(f"/sessions/{session.public_id}/status/", {"status": "cancelled"})
    with scopes_disabled():
        session.refresh_from_db()
    assert session.status == SessionStatus.CANCELLED
    page = browser.get(session.get_absolute_url())
    assert page.status_code == 200


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
