"""Signing in to the client portal: by a link (django-sesame token) or by asking for one.

The portal keeps the practice it was signed in to in the session (`PORTAL_PRACTICE_KEY`):
one practice at a time. Every portal page resolves (that practice, the signed-in
account) to the practice's Client row, or it is not signed in there. A link shown to a
page signs in and the browser is sent on to the same address without it, so the pages
and their links never carry it (the address that carried it stays in that browser's
history; the pages send no Referer to other sites).

A session a link signed in is portal-only (`PORTAL_ONLY_KEY`): the dashboard, a new
practice and an invitation refuse it. Accounts that are members somewhere, staff, or
have a password are never signed in by a link: a link would skip their password and
second factor. They sign in as usual (the link's target kept in the session, not in the
sign-in page's address), and the portal page then opens.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from sesame import settings as sesame_settings

from coachhub.models import Membership, Practice, User
from coachhub.tenancy import PORTAL_ONLY_KEY, practice_scope
from engagements.models import Client
from engagements.portal import (
    portal_home_path,
    portal_link_check,
    portal_link_request,
    portal_link_spend,
)
from web.limits import change_refused, post_refused
from web.portal.forms import LinkRequestForm

PORTAL_PRACTICE_KEY = "portal_practice_id"
# A link shown to a password account, kept while its owner signs in: (practice id, token).
PENDING_LINK_KEY = "portal_pending_link"
PORTAL_PAGES = {
    "portal_home",
    "portal_session",
    "portal_session_cancel",
    "portal_session_reschedule",
}
SESAME_BACKEND = "sesame.backends.ModelBackend"


def _practice(practice_slug: str) -> Practice:
    return get_object_or_404(Practice, slug=practice_slug)


def _client_of(practice: Practice, user: User):
    """The practice's client bound to this account and still at its e-mail (a binding
    left from an address the client no longer has opens nothing)."""
    return Client.objects.filter(practice=practice, user=user, email=user.email.strip().lower())


def signed_in_client(request: HttpRequest, practice: Practice) -> Client | None:
    """The practice's client the request is signed in as, or None (call inside its scope)."""
    user = request.user
    if not user.is_authenticated or request.session.get(PORTAL_PRACTICE_KEY) != practice.pk:
        return None
    client = _client_of(practice, user).first()
    if client is not None:
        client.practice = practice
    return client


def client_zone(client: Client) -> ZoneInfo:
    """The zone the client's pages show times in: theirs, else their practice's."""
    try:
        return ZoneInfo(client.time_zone)
    except (ValueError, KeyError):
        return ZoneInfo(client.practice.time_zone)


def _signs_in_with_password(user: User) -> bool:
    """Accounts a link must not sign in: anyone who may reach more than a portal."""
    return (
        user.is_staff
        or user.is_superuser
        or user.has_usable_password()
        or Membership.objects.filter(user=user).exists()
    )


def _without_token(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop(sesame_settings.TOKEN_NAME, None)
    return request.path + (f"?{query.urlencode()}" if query else "")


def link_refused(request: HttpRequest, practice: Practice, *, expired: bool) -> HttpResponse:
    """The page for a link that cannot sign in: expired or used (410), or not one of this
    practice's (404) — with the form for a new one right there."""
    return render(
        request,
        "portal/link_refused.html",
        {"practice": practice, "form": LinkRequestForm(), "expired": expired},
        status=410 if expired else 404,
    )


def _sign_in_with_link(
    request: HttpRequest, practice: Practice, token: str, *, pending: bool = False
) -> HttpResponse:
    """Sign in with a link's token; `pending`: the token a password sign-in was asked for,
    which now opens the portal only for that same account."""
    with practice_scope(practice):
        check = portal_link_check(token, practice=practice)
        user = check.user
        if user is None:
            return link_refused(request, practice, expired=check.expired)
        if not _client_of(practice, user).exists():
            return link_refused(request, practice, expired=False)
    already = request.user.is_authenticated and request.user.pk == user.pk
    if pending and not already:
        return redirect(request.path)
    if _signs_in_with_password(user) and not already:
        request.session[PENDING_LINK_KEY] = [practice.pk, token]
        login_url = reverse("account_login") + "?" + urlencode({"next": request.path})
        return render(
            request,
            "portal/password_account.html",
            {"practice": practice, "login_url": login_url},
            status=403,
        )
    if check.requested and not already:
        if request.method != "POST":  # mail scanners open links; only a person presses this
            return render(request, "portal/continue.html", {"practice": practice})
        if not portal_link_spend(token):
            return link_refused(request, practice, expired=True)
    if not already:
        login(request, user, backend=SESAME_BACKEND)
        request.session[PORTAL_ONLY_KEY] = True
    request.session[PORTAL_PRACTICE_KEY] = practice.pk
    return redirect(_without_token(request))


def _link_in(request: HttpRequest, practice: Practice) -> HttpResponse | None:
    """Sign in with the link in the address, or with the one kept while its (password)
    account signed in; None when there is neither."""
    if sesame_settings.TOKEN_NAME in request.GET:
        return _sign_in_with_link(request, practice, request.GET[sesame_settings.TOKEN_NAME])
    pending = request.session.get(PENDING_LINK_KEY)
    if pending and pending[0] == practice.pk and request.user.is_authenticated:
        del request.session[PENDING_LINK_KEY]
        return _sign_in_with_link(request, practice, pending[1], pending=True)
    return None


def portal_page(view):
    """A page of the portal: the practice from the URL, a link in the address signs in,
    and the view gets the signed-in client (else the sign-in page, then back here); its
    times render in the client's zone, whatever the account's."""

    @wraps(view)
    def wrapped(request: HttpRequest, practice_slug: str, **kwargs) -> HttpResponse:
        practice = _practice(practice_slug)
        if refused := post_refused(request, practice_id=practice.pk):
            return refused
        if signed_in_by_link := _link_in(request, practice):
            return signed_in_by_link
        with practice_scope(practice):
            client = signed_in_client(request, practice)
            if client is None:
                sign_in = reverse("portal_sign_in", kwargs={"practice_slug": practice.slug})
                return redirect(sign_in + "?" + urlencode({"next": request.path}))
            with timezone.override(client_zone(client)):
                return view(request, client, **kwargs)

    return wrapped


def _safe_next(value: str, practice: Practice) -> str:
    """Only a page of this practice's portal, a bare path (no query or fragment to smuggle
    a token in); anything else is the portal's home."""
    home = portal_home_path(practice)
    parts = urlsplit(value or "")
    if (
        parts.scheme
        or parts.netloc
        or parts.query
        or parts.fragment
        or "?" in value
        or "#" in value
        or "\\" in value
        or "%" in value
        or not parts.path.startswith("/")
    ):
        return home
    try:
        match = resolve(parts.path)
    except Resolver404:
        return home
    if match.url_name not in PORTAL_PAGES or match.kwargs.get("practice_slug") != practice.slug:
        return home
    return parts.path


@require_http_methods(["GET", "POST"])
def portal_sign_in(request: HttpRequest, practice_slug: str) -> HttpResponse:
    """ "Get a sign-in link": the same answer whether or not the address is a client's."""
    practice = _practice(practice_slug)
    if refused := post_refused(request, practice_id=practice.pk):
        return refused
    if sesame_settings.TOKEN_NAME in request.GET:
        return _sign_in_with_link(request, practice, request.GET[sesame_settings.TOKEN_NAME])
    with practice_scope(practice):
        if request.method == "GET" and signed_in_client(request, practice) is not None:
            return redirect(_safe_next(request.GET.get("next", ""), practice))
    form = LinkRequestForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            if refused := change_refused(request, practice_id=practice.pk):
                return refused
            with practice_scope(practice):
                portal_link_request(
                    practice=practice,
                    email=form.cleaned_data["email"],
                    path=_safe_next(request.POST.get("next", ""), practice),
                )
            return render(
                request,
                "portal/link_sent.html",
                {"practice": practice, "email": form.cleaned_data["email"]},
            )
        status = 400
    next_page = _safe_next(request.POST.get("next") or request.GET.get("next", ""), practice)
    return render(
        request,
        "portal/sign_in.html",
        {"practice": practice, "form": form, "next": next_page},
        status=status,
    )


@require_POST
def portal_sign_out(request: HttpRequest, practice_slug: str) -> HttpResponse:
    practice = _practice(practice_slug)
    logout(request)
    return redirect("portal_sign_in", practice_slug=practice.slug)
