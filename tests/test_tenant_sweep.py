"""Every route, found automatically, refuses another practice's objects with a 404.

A route added later is covered without editing this file: its parameters must be
one of the known kinds below, or the test fails and says which one to add. No sweep can
pass by checking nothing: list pages must answer 200 before they are read, and each
sweep counts what it checked against a floor (MIN_* below).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django_scopes import scopes_disabled

from billing.models import Payment, StripeAccount
from chat.models import SlackEvent
from coachhub.models import CallOutcome, CallProvider, IntegrationCall
from engagements.models import CollectionResource
from sessions_app.models import BusyInterval, ReminderSent

from .kit.http import login
from .kit.world import OTHER_MARKER, slack_objects

# Parameter name → how to get the value from a PracticeWorld's objects.
TENANT_PARAMS = {
    "client_pk": lambda o: o["client"].pk,
    "organization_pk": lambda o: o["organization"].pk,
    "contract_pk": lambda o: o["contract"].pk,
    "engagement_pk": lambda o: o["engagement"].pk,
    "collection_pk": lambda o: o["collection"].pk,
    "session_uuid": lambda o: o["session"].public_id,
    "step_key": lambda o: "client",
    "hours_pk": lambda o: o["hours"].pk,
    "override_pk": lambda o: o["override"].pk,
    "calendar_pk": lambda o: o["calendar"].pk,
    "link_pk": lambda o: o["link"].pk,
    "offer_pk": lambda o: o["offer"].pk,
    "event_pk": lambda o: o["stripe_event"].pk,
    "invoice_pk": lambda o: o["company_invoice"].pk,
    "membership_pk": lambda o: o["membership"].pk,
    "invitation_pk": lambda o: o["invitation"].pk,
    "commitment_pk": lambda o: o["commitment"].pk,
}
# Public pages (booking links, signed manage links, feeds) take these instead; they are
# checked by the public sweep below, not by the signed-in one.
PUBLIC_PARAMS = {
    "practice_slug",
    "link_slug",
    "token",
    "offer_id",
    "checkout_id",
    "practice_public_id",
}
# Routes whose parameters are not tenant objects (account keys, admin app labels).
NON_TENANT_MODULES = ("allauth.", "django.contrib.admin.sites", "drf_spectacular.")
# Parameterless routes that are not pages to read, and what they answer the signed-in
# owner instead of 200. Every other parameterless route must answer 200 to be inspected.
NOT_LIST_PAGES = {
    "": 302,  # the home page sends a member on to the dashboard
    "practice/switch/": 405,  # POST only
    "availability/feed/rotate/": 405,  # POST only
    "practice/members/reassign/": 405,  # POST only
    "practice/slack/posts/": 405,  # POST only
    "slack/events/": 405,  # Slack's deliveries: POST only
    "admin/login/": 302,  # already signed in: on to the admin index
    "admin/logout/": 405,  # POST only
    "admin/autocomplete/": 403,  # answers only with app_label, model_name and field_name
    # Read-only admins: these rows are never added by hand.
    "admin/coachhub/auditentry/add/": 403,
    "admin/coachhub/invitation/add/": 403,
    "admin/coachhub/integrationcall/add/": 403,
    "admin/billing/stripeaccount/add/": 403,
    "admin/billing/companyinvoice/add/": 403,
    "admin/sessions_app/creditentry/add/": 403,
    "admin/chat/slackconnection/add/": 403,
    "admin/chat/slackchannel/add/": 403,
    "admin/chat/slackinvite/add/": 403,
    "admin/chat/slackevent/add/": 403,
    "admin/chat/slackpost/add/": 403,
    # Slack sends the owner back here with code and state; without them: back to the page.
    "dashboard/integrations/slack/callback/": 302,
    # POST only
    "dashboard/integrations/slack/install/": 405,
    "dashboard/integrations/slack/token/": 405,
    "dashboard/integrations/slack/plan/": 405,
    "dashboard/integrations/slack/disconnect/": 405,
}
# How much each sweep must at least check: the numbers counted when these floors were set
# (routes as found in the URLconf; the world of tests/kit/world.py plus _admin_only_objects).
# Removing a route or an object kind by accident, or a sweep that starts skipping, fails;
# new routes raise the counts (raise the floor with them).
MIN_TENANT_ROUTES_FOUND = 202  # routes taking a tenant parameter
MIN_PUBLIC_ROUTES_FOUND = 12  # public routes (slugs, signed tokens, public ids)
MIN_CROSS_PRACTICE_ROUTES = 200  # routes built with another practice's object and requested
MIN_CROSS_PRACTICE_REQUESTS = 340  # of their requests, those asserted to be a 404
MIN_ANONYMOUS_ROUTES = 200  # routes asserted to send an anonymous visitor to log in
MIN_OUTSIDER_ROUTES = 40  # non-admin routes asserted to be a 404 for an outsider
MIN_LIST_PAGES = 125  # list pages and API lists asserted 200 and read for leaks
MIN_PUBLIC_REQUESTS = 42  # public requests with a foreign or forged slug/token/id


@dataclass
class Route:
    template: str  # "clients/<client_pk>/"
    params: list[str]
    callback: object
    namespace: str

    def build(self, values: dict[str, object]) -> str:
        url = self.template
        for name in self.params:
            url = url.replace("{" + name + "}", str(values[name]))
        return "/" + url


def _normalise(pattern) -> str:
    text = str(pattern.pattern)
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", text)  # regex groups
    text = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", text)  # path converters
    return text.lstrip("^").rstrip("$").replace("\\.", ".")


def all_routes(resolver=None, prefix: str = "", namespace: str = "") -> list[Route]:
    resolver = resolver or get_resolver()
    routes = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner_ns = entry.namespace or namespace
            routes += all_routes(entry, prefix + _normalise(entry), inner_ns)
        elif isinstance(entry, URLPattern):
            template = prefix + _normalise(entry)
            params = re.findall(r"{(\w+)}", template)
            routes.append(Route(template, params, entry.callback, namespace))
    return routes


def _module(callback) -> str:
    target = getattr(callback, "cls", None) or getattr(callback, "view_class", None) or callback
    return getattr(target, "__module__", "")


def _api_model(route: Route):
    viewset = getattr(route.callback, "cls", None)
    return getattr(viewset, "model", None)


def _admin_model(route: Route):
    """The model behind an admin route (ModelAdmin views, or its extra views like password)."""
    from django.contrib.admin import ModelAdmin

    callback = route.callback
    while callback is not None:
        model_admin = getattr(callback, "model_admin", None) or getattr(callback, "__self__", None)
        if isinstance(model_admin, ModelAdmin):
            return model_admin.model
        callback = getattr(callback, "__wrapped__", None)
    return None


def _values_for(route: Route, objects: dict) -> dict | None:
    if route.params == ["content_type_id", "object_id"]:  # the admin's "view on site"
        from django.contrib.contenttypes.models import ContentType

        client = objects["client"]
        return {
            "content_type_id": ContentType.objects.get_for_model(client).pk,
            "object_id": client.pk,
        }
    values = {}
    for name in route.params:
        if name in TENANT_PARAMS:
            values[name] = TENANT_PARAMS[name](objects)
        elif name == "pk" and _api_model(route) is not None:
            model = _api_model(route)
            values[name] = next(o for o in objects.values() if isinstance(o, model)).pk
        elif name in ("object_id", "id") and _admin_model(route) is not None:
            model = _admin_model(route)
            with scopes_disabled():
                obj = _admin_object(model, objects)
            if obj is None:
                return None
            values[name] = obj.pk
        elif name in ("url", "format", "app_label"):
            return None  # admin catch-alls and app index pages: no tenant object
        else:
            raise AssertionError(
                f"Route {route.template!r} has parameter {name!r} that the tenant sweep does "
                "not know. Add it to TENANT_PARAMS (or NON_TENANT_MODULES if it is not "
                "tenant data)."
            )
    return values


def _admin_object(model, objects):
    """Any object of `model` that belongs to the given practice (None: not tenant data)."""
    practice = objects["client"].practice
    from coachhub.models import Practice, User

    if model is Practice:
        return practice
    if model is User:
        return objects["token"].user
    field_names = {f.name for f in model._meta.fields}
    if "practice" not in field_names:
        return None
    found = model._default_manager.filter(practice=practice).first()
    assert found is not None, (
        f"The world has no {model._meta.label} of this practice, so its admin pages would go "
        "unchecked: add one to _admin_only_objects()."
    )
    return found


def _admin_only_objects(side, marker: str) -> dict:
    """One row of each tenant kind the admin shows that tests/kit/world.py does not make."""
    objects, now = side.objects, timezone.now()
    session = objects["session"]
    slack = {} if "slack_connection" in objects else slack_objects(side, marker)
    return {
        **slack,
        "stripe_account": StripeAccount.objects.create(
            practice=side.practice,
            secret_key="sk_test_sweep0123456789",
            account_name=f"{marker}Stripe account",
        ),
        "payment": Payment.objects.create(
            practice=side.practice,
            purchase=objects["purchase"],
            stripe_id=f"cs_test_{marker}payment",
            amount=45000,
            currency="EUR",
            paid_at=now,
        ),
        "reminder": ReminderSent.objects.create(
            practice=side.practice, session=session, lead_minutes=60, starts_at=session.starts_at
        ),
        "busy": BusyInterval.objects.create(
            practice=side.practice,
            calendar=objects["calendar"],
            coach=side.coach,
            starts_at=now + dt.timedelta(days=3),
            ends_at=now + dt.timedelta(days=3, hours=1),
        ),
        "resource": CollectionResource.objects.create(
            practice=side.practice, collection=objects["collection"], title=f"{marker}Resource"
        ),
        "integration_call": IntegrationCall.objects.create(
            practice=side.practice,
            provider=CallProvider.EMAIL,
            operation=f"{marker}session.reminder",
            engagement_id=objects["engagement"].pk,
            recipient=objects["client"].email,
            outcome=CallOutcome.OK,
        ),
        "slack_event": SlackEvent.objects.create(
            practice=side.practice,
            event_id=f"Ev{marker}0001",
            team_id="T0SWEEP",
            type="channel_rename",
            payload={"type": "event_callback", "event": {"type": "channel_rename"}},
        ),
    }


@pytest.fixture
def every_admin_kind(world):
    """Both practices get a row of every tenant kind the admin has pages for."""
    with scopes_disabled():
        world.home.objects.update(_admin_only_objects(world.home, ""))
        world.other.objects.update(_admin_only_objects(world.other, OTHER_MARKER))
    return world


def _send(browser, method: str, url: str):
    if method in ("patch", "put", "post") and url.startswith("/api/"):
        return getattr(browser, method)(url, data="{}", content_type="application/json")
    return getattr(browser, method)(url)


def _with_missing_ids(route: Route) -> str:
    return route.build({name: "999999" for name in route.params})


def tenant_routes() -> list[Route]:
    return [
        route
        for route in all_routes()
        if route.params
        and not _module(route.callback).startswith(NON_TENANT_MODULES)
        and not PUBLIC_PARAMS & set(route.params)
    ]


def public_routes() -> list[Route]:
    return [route for route in all_routes() if PUBLIC_PARAMS & set(route.params)]


def test_sweep_finds_the_routes_it_must_cover():
    templates = {route.template for route in tenant_routes()}
    assert "clients/{client_pk}/" in templates
    assert "api/v1/clients/{pk}/" in templates
    assert "admin/engagements/client/{object_id}/change/" in templates
    assert len(templates) >= MIN_TENANT_ROUTES_FOUND, sorted(templates)
    public = {route.template for route in public_routes()}
    assert len(public) >= MIN_PUBLIC_ROUTES_FOUND, sorted(public)


@pytest.mark.django_db
def test_every_route_answers_404_for_another_practices_objects(world, every_admin_kind):
    home = world.home
    staff_owner = home.owner
    staff_owner.is_staff = True
    staff_owner.save(update_fields=["is_staff"])
    from django.contrib.auth.models import Permission

    staff_owner.user_permissions.set(Permission.objects.all())
    browser = login(staff_owner, home.practice)
    failures = []
    routes = asserted = 0
    for route in tenant_routes():
        values = _values_for(route, world.other.objects)
        if values is None:
            continue
        url = route.build(values)
        routes += 1
        methods = ("get", "post", "patch", "put") if url.startswith("/api/") else ("get", "post")
        for method in methods:
            response = _send(browser, method, url)
            if (
                response.status_code == 405
                and _send(browser, method, _with_missing_ids(route)).status_code == 405
            ):
                continue  # the route never takes this method: answers the same for any id
            asserted += 1
            if response.status_code != 404:
                failures.append(f"{method.upper()} {url} → {response.status_code}")
    assert not failures, "Reachable across practices:\n" + "\n".join(failures)
    assert routes >= MIN_CROSS_PRACTICE_ROUTES, f"only {routes} routes checked"
    assert asserted >= MIN_CROSS_PRACTICE_REQUESTS, f"only {asserted} requests checked"


@pytest.mark.django_db
def test_every_route_sends_anonymous_visitors_to_login(world, every_admin_kind, client):
    failures = []
    checked = 0
    for route in tenant_routes():
        values = _values_for(route, world.home.objects)
        if values is None:
            continue
        url = route.build(values)
        response = client.get(url)
        checked += 1
        ok = (
            response.status_code == 401
            if url.startswith("/api/")
            else response.status_code == 302 and "login" in response["Location"]
        )
        if not ok:
            failures.append(f"GET {url} → {response.status_code}")
    assert not failures, "\n".join(failures)
    assert checked >= MIN_ANONYMOUS_ROUTES, f"only {checked} routes checked"


@pytest.mark.django_db
def test_outsider_gets_404_for_every_home_object(world):
    """A member of another practice only (the outsider persona) sees nothing of ours."""
    outsider = login(world.other.owner, world.other.practice)
    checked = 0
    for route in tenant_routes():
        if route.namespace == "admin":
            continue
        values = _values_for(route, world.home.objects)
        if values is None:
            continue
        url = route.build(values)
        status = outsider.get(url).status_code
        if status == 405 and outsider.get(_with_missing_ids(route)).status_code == 405:
            status = outsider.post(url, data="{}", content_type="application/json").status_code
        assert status == 404, url
        checked += 1
    assert checked >= MIN_OUTSIDER_ROUTES, f"only {checked} routes checked"


@pytest.mark.django_db
def test_list_pages_and_api_lists_never_show_another_practice(world, every_admin_kind):
    home = world.home
    home.owner.is_staff = True
    home.owner.save(update_fields=["is_staff"])
    from django.contrib.auth.models import Permission

    home.owner.user_permissions.set(Permission.objects.all())
    browser = login(home.owner, home.practice)
    api = login(home.owner, home.practice)
    leaks, unanswered, not_pages = [], [], set()
    inspected = 0
    for route in all_routes():
        if route.params or _module(route.callback).startswith(("allauth.", "drf_spectacular.")):
            continue
        url = route.build({})
        response = (api if url.startswith("/api/") else browser).get(url)
        expected = NOT_LIST_PAGES.get(route.template, 200)
        if route.template in NOT_LIST_PAGES:
            not_pages.add(route.template)
        if response.status_code != expected:
            unanswered.append(f"GET {url} → {response.status_code} (expected {expected})")
        elif expected == 200:
            inspected += 1
        if OTHER_MARKER.encode() in response.content:
            leaks.append(url)
    assert not leaks, f"Another practice's rows shown on: {leaks}"
    assert not unanswered, (
        "List pages that did not answer the owner as expected (a page that is not a list "
        "belongs in NOT_LIST_PAGES):\n" + "\n".join(unanswered)
    )
    assert not_pages == set(NOT_LIST_PAGES), (
        f"NOT_LIST_PAGES names routes that no longer exist: {set(NOT_LIST_PAGES) - not_pages}"
    )
    assert inspected >= MIN_LIST_PAGES, f"only {inspected} list pages inspected"


@pytest.mark.django_db
def test_api_token_of_one_practice_cannot_reach_another(world, client):
    key = world.home.objects["token_key"]
    other_client = world.other.objects["client"]
    response = client.get(f"/api/v1/clients/{other_client.pk}/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 404
    listing = client.get("/api/v1/clients/", HTTP_AUTHORIZATION=f"Token {key}")
    assert listing.status_code == 200
    assert OTHER_MARKER not in listing.content.decode()


def _public_url(route: Route, values: dict) -> str:
    return route.build({name: values[name] for name in route.params})


@pytest.mark.django_db
def test_public_routes_never_cross_practices(world, client):
    """A link slug of another practice under our slug, a forged token, or a token
    naming our practice with another practice's booking: all 404."""
    from django.core import signing

    from sessions_app.booking_tokens import SALT

    home, other = world.home, world.other
    forged_cross = signing.dumps(
        {"p": home.practice.pk, "b": other.objects["booking"].public_id.hex, "e": 2**40},
        salt=SALT,
        compress=True,
    )
    routes = public_routes()
    assert {
        "book/{practice_slug}/{link_slug}/",
        "booking/{token}/",
        "calendar/{token}.ics",
        "buy/{practice_slug}/{offer_id}/",
        "webhooks/stripe/{practice_public_id}/",
    } <= {r.template for r in routes}
    failures = []
    checked = 0
    for route in routes:
        cases = []
        if "link_slug" in route.params:
            cases.append({"practice_slug": home.practice.slug, "link_slug": "no-such-link"})
            other_link = other.objects["link"]
            other_link.slug = "only-other"
            with scopes_disabled():
                other_link.save(update_fields=["slug"])
            cases.append({"practice_slug": home.practice.slug, "link_slug": "only-other"})
        if "token" in route.params:
            cases += [{"token": "not-a-token"}, {"token": forged_cross}]
        if "offer_id" in route.params:
            cases += [
                {"practice_slug": home.practice.slug, "offer_id": other.objects["offer"].public_id},
                {"practice_slug": home.practice.slug, "offer_id": uuid.uuid4()},
            ]
        if "checkout_id" in route.params:
            cases.append({"checkout_id": uuid.uuid4()})
        if "practice_public_id" in route.params:
            cases.append({"practice_public_id": uuid.uuid4()})
        for values in cases:
            url = _public_url(route, values)
            for method in ("get", "post"):
                status = getattr(client, method)(url).status_code
                checked += 1
                if status not in (404, 405):
                    failures.append(f"{method.upper()} {url} → {status}")
    assert not failures, "\n".join(failures)
    assert checked >= MIN_PUBLIC_REQUESTS, f"only {checked} public requests checked"


MIN_PORTAL_ROUTES = 6  # portal routes found (home, sign-in, sign-out, session and its changes)
MIN_PORTAL_REQUESTS = 11  # portal requests asserted with another practice's slug or session


def portal_routes() -> list[Route]:
    return [route for route in all_routes() if route.template.startswith("portal/")]


@pytest.mark.django_db
def test_portal_routes_never_reach_another_practice(world):
    """Signed in to our portal as our client: another practice's session under our slug is
    a 404 (GET and POST), and another practice's portal is not signed in at all."""
    from django.test import Client as HttpClient

    from engagements.portal import portal_link
    from engagements.services import clients_portal_users_ensure

    home, other = world.home, world.other
    browser = HttpClient()
    with scopes_disabled():
        clients_portal_users_ensure(clients=[home.objects["client"]])
        link = portal_link(home.objects["client"])
    assert browser.get(link.removeprefix("http://127.0.0.1:8000")).status_code == 302
    routes = portal_routes()
    assert len(routes) >= MIN_PORTAL_ROUTES, [r.template for r in routes]
    foreign_session = other.objects["session"].public_id
    failures, checked = [], 0
    for route in routes:
        if "commitment_pk" in route.params:  # a commitment of another practice's client
            own = route.build({"practice_slug": home.practice.slug, "commitment_pk": 999999})
            url = route.build(
                {
                    "practice_slug": home.practice.slug,
                    "commitment_pk": other.objects["commitment"].pk,
                }
            )
            for method in ("get", "post"):
                status = getattr(browser, method)(url).status_code
                if status == 405 and getattr(browser, method)(own).status_code == 405:
                    continue
                checked += 1
                if status != 404:
                    failures.append(f"{method.upper()} {url} → {status}")
            continue
        if "session_uuid" in route.params:
            own = route.build(
                {
                    "practice_slug": home.practice.slug,
                    "session_uuid": home.objects["session"].public_id,
                }
            )
            assert browser.get(own).status_code != 404, own  # the sweep is not vacuous
            url = route.build(
                {"practice_slug": home.practice.slug, "session_uuid": foreign_session}
            )
            for method in ("get", "post"):
                status = getattr(browser, method)(url).status_code
                if status == 405 and getattr(browser, method)(own).status_code == 405:
                    continue  # the route never takes this method, whoever's the session
                checked += 1
                if status != 404:
                    failures.append(f"{method.upper()} {url} → {status}")
        url = route.build({"practice_slug": other.practice.slug, "session_uuid": foreign_session})
        response = browser.get(url)
        checked += 1
        signs_in_there = f"/portal/{other.practice.slug}/sign-in/"
        if route.template.endswith("sign-in/"):
            ok = response.status_code == 200 and b"E-mail me a sign-in link" in response.content
        elif route.template.endswith("sign-out/"):
            ok = response.status_code == 405
        else:
            ok = response.status_code == 302 and response["Location"].startswith(signs_in_there)
        if not ok:
            failures.append(f"GET {url} → {response.status_code}")
        if home.objects["client"].name.encode() in response.content:
            failures.append(f"GET {url} shows our client in another practice's portal")
    assert not failures, "\n".join(failures)
    assert checked >= MIN_PORTAL_REQUESTS, f"only {checked} portal requests checked"
