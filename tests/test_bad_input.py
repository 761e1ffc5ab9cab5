"""Every form and API endpoint answers bad input with a clear message, never a 500."""

import json

import pytest
from django_scopes import scopes_disabled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

FORMS = {
    "/clients/new/": {"name": "", "email": "not-an-email", "time_zone": "Mars/Olympus"},
    "/companies/new/": {"name": ""},
    "/contracts/new/": {
        "organization": "999999",
        "starts_on": "2026-05-01",
        "ends_on": "2026-01-01",
        "seats": "0",
        "price_per_seat_month": "-1",
    },
    "/engagements/new/per-session/": {"coach": "", "first_session_at": "yesterday"},
    "/engagements/new/monthly-package/": {
        "hours_per_month": "0",
        "cadence": "daily",
        "preferred_weekday": "9",
        "months": "99",
    },
    "/engagements/new/team-workshop/": {"title": "", "participants_text": "nobody\nat all"},
    "/practice/settings/": {
        "name": "",
        "time_zone": "Nowhere",
        "currency": "pounds",
        "brand_colour": "green",
        "default_session_minutes": "0",
        "cancellation_window_hours": "-3",
    },
    "/practice/members/": {"email": "not-an-email", "role": "boss"},
    "/practice/new/": {"name": "", "time_zone": "Bad/Zone"},
}


@pytest.mark.parametrize("url, data", list(FORMS.items()))
def test_forms_show_field_errors_and_save_nothing(as_member, url, data):
    from coachhub.models import AuditEntry

    owner = as_member("owner")
    with scopes_disabled():
        before = AuditEntry.objects.count()
    response = owner.post(url, data)
    assert response.status_code == 200, response.status_code
    page = response.content.decode()
    assert 'class="error"' in page or 'class="errors"' in page
    with scopes_disabled():
        assert AuditEntry.objects.count() == before


def test_duplicate_client_email_is_a_field_error(world, as_member):
    response = as_member("owner").post(
        "/clients/new/",
        {
            "name": "Twin",
            "email": world.home.objects["client"].email.upper(),
            "time_zone": "Europe/London",
            "status": "active",
        },
    )
    assert "already exists" in response.content.decode()


def test_a_time_that_does_not_exist_locally_is_refused(world, as_member):
    # 01:30 on 29 March 2026 does not exist in London (clocks jump from 01:00 to 02:00).
    response = as_member("owner").post(
        "/engagements/new/per-session/",
        {
            "client": world.home.objects["client"].pk,
            "coach": world.home.coach.pk,
            "first_session_at": "2026-03-29T01:30",
        },
    )
    assert "does not exist" in response.content.decode()


def test_session_form_errors_come_back_as_messages(world, as_member):
    engagement = world.home.objects["engagement"]
    response = as_member("owner").post(
        f"/engagements/{engagement.pk}/sessions/",
        {"starts_at": "nope", "minutes": "2"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Enter a valid date/time" in response.content.decode()


def test_bad_filters_and_pages_are_ignored_not_errors(as_member):
    owner = as_member("owner")
    for url in (
        "/clients/?status=bogus&page=abc",
        "/engagements/?kind=x&status=y&page=-1",
        "/companies/?page=99999",
    ):
        assert owner.get(url).status_code == 200


API_BAD = [
    (
        "post",
        "/api/v1/clients/",
        {"name": "", "email": "x", "time_zone": "Nowhere/Here"},
        {"name", "email", "time_zone"},
    ),
    ("post", "/api/v1/organizations/", {"name": ""}, {"name"}),
    (
        "post",
        "/api/v1/contracts/",
        {"organization": 999999, "starts_on": "never", "seats": -1},
        {"organization", "starts_on", "seats"},
    ),
    ("post", "/api/v1/engagements/", {"kind": "per_session", "coach": 999999}, {"coach"}),
    ("post", "/api/v1/engagements/", {"kind": "weekly_yoga", "coach": 1}, {"kind"}),
    ("post", "/api/v1/engagements/", {"kind": "monthly_package"}, {"coach"}),
]


@pytest.mark.parametrize("method, url, body, fields", API_BAD)
def test_api_rejects_bad_input_with_field_errors(as_member, method, url, body, fields):
    response = getattr(as_member("owner"), method)(
        url, json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400
    assert fields <= set(response.json()), response.json()


def test_api_service_errors_become_400s(world, as_member):
    owner = as_member("owner")
    response = owner.post(
        "/api/v1/engagements/",
        json.dumps(
            {
                "kind": "monthly_package",
                "client": world.home.objects["seat_client"].pk,
                "coach": world.home.coach.pk,
                "hours_per_month": "2",
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "company seat" in json.dumps(response.json())
    other = world.other.objects["client"]
    response = owner.post(
        "/api/v1/engagements/",
        json.dumps(
            {
                "kind": "per_session",
                "client": other.pk,
                "coach": world.home.coach.pk,
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 400  # another practice's client id is simply not found
    assert "client" in response.json()


def test_api_rejects_malformed_json(as_member):
    response = as_member("owner").post(
        "/api/v1/clients/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(
        st.sampled_from(
            ["name", "email", "time_zone", "status", "tags", "coach", "organization", "phone"]
        ),
        st.one_of(st.none(), st.text(max_size=30), st.integers(), st.lists(st.text(max_size=5))),
    )
)
def test_client_api_never_500s(as_member, body):
    response = as_member("owner").post(
        "/api/v1/clients/", json.dumps(body), content_type="application/json"
    )
    assert response.status_code in (201, 400)


@pytest.mark.parametrize("value", ["abc", "", "-1", "1.5", "9" * 40, "١٢"])
def test_handing_sessions_to_a_coach_refuses_anything_but_a_coach_of_ours(world, as_member, value):
    """Ids that are not ids (or not our coaches') get a message on the Members page."""
    owner = as_member("owner")
    session = world.home.objects["session"]
    one = owner.post(f"/sessions/{session.public_id}/coach/", {"coach": value}, follow=True)
    every = owner.post(
        "/practice/members/reassign/", {"coach": value, "former_coach": value}, follow=True
    )
    for response in (one, every):
        assert response.status_code == 200
        assert "Choose a coach of this practice." in response.content.decode()
