"""Role rules (docs/product.md §1): owners see all, coaches their own clients, notes not for
assistants.

Every endpoint where roles differ has a "read-only role gets 403" test here.
"""

import json

import pytest
from django_scopes import scopes_disabled

from engagements import services
from engagements.models import Client
from sessions_app import services as session_services

from .kit.http import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_coachs_client(world):
    """A client of the home practice coached by the owner, not by the coach persona."""
    with scopes_disabled():
        return services.client_create(
            practice=world.home.practice,
            actor=world.home.owner,
            name="Owner's own",
            email="owners-own@example.org",
            coach=world.home.owner,
            private_notes="owner notes",
        )


def test_owner_sees_every_client(world, as_member, other_coachs_client):
    page = as_member("owner").get("/clients/").content.decode()
    assert "Owner&#x27;s own" in page or "Owner's own" in page
    assert world.home.objects["client"].name in page


def test_coach_sees_only_their_clients(world, as_member, other_coachs_client):
    coach = as_member("coach")
    page = coach.get("/clients/").content.decode()
    assert world.home.objects["client"].name in page
    assert "Owner" not in page.split("<tbody>")[1]
    assert coach.get(f"/clients/{other_coachs_client.pk}/").status_code == 404
    api = coach.get("/api/v1/clients/").json()
    assert other_coachs_client.pk not in [row["id"] for row in api["results"]]
    assert coach.get(f"/api/v1/clients/{other_coachs_client.pk}/").status_code == 404


def test_coach_sees_workshop_participants_they_coach(world, as_member):
    coach = as_member("coach")
    with scopes_disabled():
        participant = Client.objects.get(email="p-home@ex.org")
    assert coach.get(f"/clients/{participant.pk}/").status_code == 200


def test_assistant_sees_all_clients_but_never_private_notes(world, as_member, other_coachs_client):
    assistant = as_member("assistant")
    client = world.home.objects["client"]
    assert assistant.get(f"/clients/{other_coachs_client.pk}/").status_code == 200
    page = assistant.get(f"/clients/{client.pk}/").content.decode()
    assert "secret notes" not in page
    assert assistant.get(f"/clients/{client.pk}/notes/").status_code == 403
    assert assistant.post(f"/clients/{client.pk}/notes/", {"private_notes": "x"}).status_code == 403
    detail = assistant.get(f"/api/v1/clients/{client.pk}/").json()
    assert "private_notes" not in detail
    listing = assistant.get("/api/v1/clients/").json()
    assert all("private_notes" not in row for row in listing["results"])
    response = assistant.patch(
        f"/api/v1/clients/{client.pk}/",
        json.dumps({"private_notes": "sneaky"}),
        content_type="application/json",
    )
    assert response.status_code == 403
    with scopes_disabled():
        client.refresh_from_db()
    assert client.private_notes == "secret notes"


def test_coach_and_owner_read_private_notes(world, as_member):
    client = world.home.objects["client"]
    for role in ("owner", "coach"):
        browser = as_member(role)
        assert "secret notes" in browser.get(f"/clients/{client.pk}/notes/").content.decode()
        assert (
            browser.get(f"/api/v1/clients/{client.pk}/").json()["private_notes"] == "secret notes"
        )


@pytest.mark.parametrize("role", ["coach", "assistant"])
def test_only_owners_manage_the_practice(as_member, role):
    browser = as_member(role)
    assert browser.get("/practice/members/").status_code == 403
    assert (
        browser.post("/practice/members/", {"email": "x@y.z", "role": "coach"}).status_code == 403
    )
    assert browser.get("/practice/settings/").status_code == 403


@pytest.mark.parametrize("role", ["coach", "assistant"])
def test_only_owners_write_companies_and_contracts(world, as_member, role):
    browser = as_member(role)
    organization = world.home.objects["organization"]
    contract = world.home.objects["contract"]
    assert browser.get("/companies/new/").status_code == 403
    assert browser.get(f"/companies/{organization.pk}/edit/").status_code == 403
    assert browser.get("/contracts/new/").status_code == 403
    assert browser.post(f"/contracts/{contract.pk}/", {}).status_code == 403
    assert browser.get(f"/companies/{organization.pk}/").status_code == 200
    assert browser.post("/api/v1/organizations/", {"name": "New"}).status_code == 403
    assert (
        browser.patch(
            f"/api/v1/contracts/{contract.pk}/",
            json.dumps({"seats": 9}),
            content_type="application/json",
        ).status_code
        == 403
    )
    assert browser.get("/api/v1/contracts/").status_code == 200


def test_assistants_read_engagements_but_cannot_change_them(world, as_member):
    assistant = as_member("assistant")
    engagement = world.home.objects["engagement"]
    collection = world.home.objects["collection"]
    assert assistant.get(f"/engagements/{engagement.pk}/").status_code == 200
    assert assistant.get("/engagements/new/").status_code == 403
    assert assistant.get("/engagements/new/per-session/").status_code == 403
    assert assistant.get(f"/engagements/{engagement.pk}/edit/").status_code == 403
    assert (
        assistant.post(f"/engagements/{engagement.pk}/steps/client/", {"state": "done"}).status_code
        == 403
    )
    assert assistant.post(f"/collections/{collection.pk}/resources/", {}).status_code == 403
    assert (
        assistant.patch(
            f"/api/v1/engagements/{engagement.pk}/",
            json.dumps({"title": "x"}),
            content_type="application/json",
        ).status_code
        == 403
    )
    assert (
        assistant.patch(
            f"/api/v1/collections/{collection.pk}/",
            json.dumps({"title": "x"}),
            content_type="application/json",
        ).status_code
        == 403
    )


def test_coach_cannot_see_engagements_of_other_coaches(world, as_member):
    with scopes_disabled():
        own = services.client_create(
            practice=world.home.practice, actor=world.home.owner, name="Solo", email="solo@e.org"
        )
        engagement = session_services.engagement_create_per_session(
            practice=world.home.practice,
            actor=world.home.owner,
            client=own,
            coach=world.home.owner,
        )
    coach = as_member("coach")
    assert coach.get(f"/engagements/{engagement.pk}/").status_code == 404
    assert coach.get(f"/api/v1/engagements/{engagement.pk}/").status_code == 404
    assert as_member("owner").get(f"/engagements/{engagement.pk}/").status_code == 200


def test_practice_switcher_only_offers_own_practices(world):
    from coachhub.models import Membership, Role

    Membership.objects.create(practice=world.other.practice, user=world.home.coach, role=Role.COACH)
    browser = login(world.home.coach, world.home.practice)
    page = browser.get("/dashboard/").content.decode()
    assert world.other.practice.name in page  # now a member of both
    response = browser.post("/practice/switch/", {"practice": world.other.practice.pk})
    assert response.status_code == 302
    assert world.other.practice.name in browser.get("/dashboard/").content.decode()
    stranger = login(world.home.assistant, world.home.practice)
    assert (
        stranger.post("/practice/switch/", {"practice": world.other.practice.pk}).status_code == 404
    )
    assert stranger.post("/practice/switch/", {"practice": "not-a-number"}).status_code == 302
