"""Cancel and reschedule: the visitor's signed manage link (expired, tampered), reschedule
limits and cut-off, and the coach doing it from the dashboard."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django_scopes import scopes_disabled

from sessions_app import services
from sessions_app.models import Booking, SessionStatus

from ..kit.booking import book, first_slots, invite_of, open_all_week


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
