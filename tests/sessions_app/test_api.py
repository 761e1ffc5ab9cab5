"""The sessions, availability and booking-link API: the same services as the pages."""

import datetime as dt
import json

import pytest
from django_scopes import scopes_disabled

from coachhub.services import api_token_create
from sessions_app.models import Session, SessionStatus

from ..kit.http import token_client

pytestmark = pytest.mark.django_db


def api_for(world, role: str):
    home = world.home
    _, key = api_token_create(practice=home.practice, user=home.member(role))
    return token_client(key)


def test_sessions_list_move_and_cancel(world):
    api = api_for(world, "coach")
    session = world.home.objects["session"]
    listing = api.get("/api/v1/sessions/?status=scheduled")
    assert listing.status_code == 200
    ids = [row["id"] for row in listing.json()["results"]]
    assert session.pk in ids
    new_start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).replace(microsecond=0)
    moved = api.patch(
        f"/api/v1/sessions/{session.pk}/",
        data=json.dumps({"starts_at": new_start.isoformat()}),
        content_type="application/json",
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["sequence"] == 1
    assert dt.datetime.fromisoformat(moved.json()["starts_at"]) == new_start
    cancelled = api.post(f"/api/v1/sessions/{session.pk}/cancel/?late=true")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == SessionStatus.LATE_CANCELLED
    again = api.post(f"/api/v1/sessions/{session.pk}/cancel/")
    assert again.status_code == 400
    assert "cannot be cancelled" in json.dumps(again.json())


def test_moving_onto_a_busy_time_is_a_400_with_the_message(world):
    api = api_for(world, "owner")
    with scopes_disabled():
        workshop_session = Session.objects.get(
            engagement=world.home.objects["workshop"], status=SessionStatus.SCHEDULED
        )
    session = world.home.objects["session"]
    response = api.patch(
        f"/api/v1/sessions/{session.pk}/",
        data=json.dumps({"starts_at": workshop_session.starts_at.isoformat()}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "That time was just taken" in json.dumps(response.json())


def test_availability_and_links_through_the_api(world):
    api = api_for(world, "coach")
    created = api.post(
        "/api/v1/availability/weekly-hours/",
        data=json.dumps({"weekday": 2, "starts": "09:00", "ends": "12:00"}),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    overlap = api.post(
        "/api/v1/availability/weekly-hours/",
        data=json.dumps({"weekday": 2, "starts": "11:00", "ends": "13:00"}),
        content_type="application/json",
    )
    assert overlap.status_code == 400
    assert (
        api.delete(f"/api/v1/availability/weekly-hours/{created.json()['id']}/").status_code == 204
    )
    day_off = api.post(
        "/api/v1/availability/overrides/",
        data=json.dumps({"date": "2031-01-01"}),
        content_type="application/json",
    )
    assert day_off.status_code == 201, day_off.content
    link = api.post(
        "/api/v1/booking-links/",
        data=json.dumps({"slug": "deep-dive", "title": "Deep dive", "duration_minutes": 90}),
        content_type="application/json",
    )
    assert link.status_code == 201, link.content
    assert link.json()["public_url"] == f"/book/{world.home.practice.slug}/deep-dive/"
    duplicate = api.post(
        "/api/v1/booking-links/",
        data=json.dumps({"slug": "deep-dive", "title": "Again"}),
        content_type="application/json",
    )
    assert duplicate.status_code == 400
    off = api.patch(
        f"/api/v1/booking-links/{link.json()['id']}/",
        data=json.dumps({"is_active": False}),
        content_type="application/json",
    )
    assert off.status_code == 200 and off.json()["is_active"] is False


def test_assistants_cannot_change_availability_or_links(world):
    api = api_for(world, "assistant")
    assert api.get("/api/v1/booking-links/").status_code == 200
    response = api.post(
        "/api/v1/booking-links/",
        data=json.dumps({"slug": "x", "title": "X"}),
        content_type="application/json",
    )
    assert response.status_code == 403


def test_schema_lists_the_new_endpoints(client):
    schema = client.get("/api/schema/?format=json").json()
    for path in (
        "/api/v1/sessions/",
        "/api/v1/sessions/{id}/cancel/",
        "/api/v1/availability/weekly-hours/",
        "/api/v1/availability/overrides/",
        "/api/v1/booking-links/",
    ):
        assert path in schema["paths"], path
