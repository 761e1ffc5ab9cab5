"""The REST API: tokens, pagination, filtering, ordering, and the guided set-up through it."""

import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client as HttpClient
from django_scopes import scopes_disabled

from engagements.models import Engagement

from .kit.http import token_client

pytestmark = pytest.mark.django_db


def test_create_api_token_command_prints_a_working_token(world):
    out = StringIO()
    call_command("create_api_token", world.home.coach.email, world.home.practice.slug, stdout=out)
    key = out.getvalue().strip()
    assert key.startswith("ch_")
    api = token_client(key)
    response = api.get("/api/v1/clients/")
    assert response.status_code == 200
    names = [row["name"] for row in response.json()["results"]]
    assert world.home.objects["client"].name in names


def test_create_api_token_command_refuses_non_members(world):
    with pytest.raises(CommandError, match="not a member"):
        call_command(
            "create_api_token", world.home.coach.email, world.other.practice.slug, stdout=StringIO()
        )
    with pytest.raises(CommandError, match="No practice"):
        call_command("create_api_token", world.home.coach.email, "nope", stdout=StringIO())


def test_bad_or_revoked_tokens_are_401(world, client):
    assert token_client("ch_wrong").get("/api/v1/clients/").status_code == 401
    assert client.get("/api/v1/clients/", HTTP_AUTHORIZATION="Token").status_code == 401
    owner = HttpClient()
    owner.force_login(world.home.owner)
    token = world.home.objects["token"]
    owner.post("/practice/api-tokens/", {"revoke": token.pk})
    assert token_client(world.home.objects["token_key"]).get("/api/v1/clients/").status_code == 401


def test_tokens_page_shows_a_new_key_once(as_member):
    owner = as_member("owner")
    page = owner.post("/practice/api-tokens/", {"name": "Zapier"}).content.decode()
    assert "Copy your new token now" in page and "ch_" in page
    assert "Copy your new token now" not in owner.get("/practice/api-tokens/").content.decode()


def test_pagination_filtering_ordering_and_search(world, as_member):
    owner = as_member("owner")
    body = owner.get("/api/v1/clients/?ordering=-name").json()
    assert {"count", "next", "previous", "results"} <= set(body)
    names = [row["name"] for row in body["results"]]
    assert names == sorted(names, reverse=True)
    seat = world.home.objects["seat_client"]
    org = world.home.objects["organization"].pk
    filtered = owner.get(f"/api/v1/clients/?organization={org}").json()["results"]
    assert [row["id"] for row in filtered] == [seat.pk]
    found = owner.get("/api/v1/clients/?search=seat-home").json()["results"]
    assert [row["id"] for row in found] == [seat.pk]
    kinds = owner.get("/api/v1/engagements/?kind=team_workshop").json()["results"]
    assert {row["kind"] for row in kinds} == {"team_workshop"}


def test_creating_engagements_through_the_api_runs_the_guided_setup(world):
    api = token_client(world.home.objects["token_key"])
    response = api.post(
        "/api/v1/engagements/",
        json.dumps(
            {
                "kind": "monthly_package",
                "client": world.home.objects["client"].pk,
                "coach": world.home.coach.pk,
                "hours_per_month": "3",
                "cadence": "weekly",
                "session_minutes": 60,
                "preferred_weekday": 2,
                "preferred_time": "08:00",
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [step["key"] for step in body["checklist"]][-1] == "recurring_sessions"
    assert body["collection"]
    workshop = api.post(
        "/api/v1/engagements/",
        json.dumps(
            {
                "kind": "team_workshop",
                "coach": world.home.coach.pk,
                "title": "API workshop",
                "core_subject": "Focus",
                "participants": ["a@x.org", "b@x.org"],
            }
        ),
        content_type="application/json",
    )
    assert workshop.status_code == 201, workshop.json()
    collection = api.get(f"/api/v1/collections/{workshop.json()['collection']}/").json()
    assert sorted(p["email"] for p in collection["participants"]) == ["a@x.org", "b@x.org"]


def test_practice_comes_from_the_token_never_the_body(world):
    api = token_client(world.home.objects["token_key"])
    response = api.post(
        "/api/v1/clients/",
        json.dumps(
            {
                "name": "Body practice",
                "email": "body@x.org",
                "practice": world.other.practice.pk,
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201
    with scopes_disabled():
        from engagements.models import Client

        assert Client.objects.get(email="body@x.org").practice == world.home.practice


def test_update_through_the_api(world, as_member):
    owner = as_member("owner")
    engagement = world.home.objects["engagement"]
    response = owner.patch(
        f"/api/v1/engagements/{engagement.pk}/",
        json.dumps({"status": "paused", "aims": "Rest"}),
        content_type="application/json",
    )
    assert response.status_code == 200
    with scopes_disabled():
        assert Engagement.objects.get(pk=engagement.pk).status == "paused"
    collection = world.home.objects["collection"]
    response = owner.patch(
        f"/api/v1/collections/{collection.pk}/",
        json.dumps({"agenda_items": ["One", "Two"]}),
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["agenda_items"] == ["One", "Two"]


def test_openapi_schema_and_docs_work_offline(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/clients/" in schema.content
    docs = client.get("/api/docs/").content.decode()
    # Every script and style comes from our own static files, none from another host
    # (a word test would trip on a random nonce that happens to contain "cdn").
    addresses = re.findall(r'(?:src|href)="([^"]+)"', docs)
    assert addresses and all(not a.startswith(("http:", "https:", "//")) for a in addresses)
    assert "jsdelivr" not in docs.lower() and "unpkg" not in docs.lower()
    assert "/static/drf_spectacular_sidecar/" in docs
