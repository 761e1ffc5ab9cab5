"""Signing in to the client portal: by a link (django-sesame token) or by asking for one.

The portal keeps the practice it was signed in to in the session (`PORTAL_PRACTICE_KEY`):
one practice at a time. Every portal page resolves (that practice, the signed-in
account) to the practice's Client row, or it is not signed in there. A link shown to a
page signs in and is then dropped from the address, so it stays out of the history and
of any Referer.

Accounts that sign in with a password (coaches, staff) are never signed in by a link: a
link would skip their password and second factor. They sign in as usual, and the same
link then opens their portal.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from sesame import settings as sesame_settings

from coachhub.models import Practice, User
from coachhub.tenancy import practice_scope
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
SESAME_BACKEND = "sesame.backends.ModelBackend"


def _practice(practice_slug: str) -> Practice:
    return get_object_or_404(Practice, slug=practice_slug)


def signed_in_client(request: HttpRequest, practice: Practice) -> Client | None:
    """The practice's client the request is signed in as, or None (call inside its scope)."""
    user = request.user
    if not user.is_authenticated or request.session.get(PORTAL_PRACTICE_KEY) != practice.pk:
        return None
    client = Client.objects.filter(practice=practice, user=user).first()
    if client is not None:
        client.practice = practice
    return client


def _signs_in_with_password(user: User) -> bool:
    return user.is_staff or user.has_usable_password()


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


def _sign_in_with_link(request: HttpRequest, practice: Practice) -> HttpResponse:
    token = request.GET[sesame_settings.TOKEN_NAME]
    with practice_scope(practice):
        check = portal_link_check(token, practice=practice)
        user = check.user
        if user is None:
            return link_refused(request, practice, expired=check.expired)
        if not Client.objects.filter(practice=practice, user=user).exists():
            return link_refused(request, practice, expired=False)
    already = request.user.is_authenticated and request.user.pk == user.pk
    if _signs_in_with_password(user) and not already:
        login_url = reverse("account_login") + "?" + urlencode({"next": request.get_full_path()})
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
    request.session[PORTAL_PRACTICE_KEY] = practice.pk
    return redirect(_without_token(request))


def portal_page(view):
    """A page of the portal: the practice from the URL, a link in the address signs in,
    and the view gets the signed-in client (else the sign-in page, then back here)."""

    @wraps(view)
    def wrapped(request: HttpRequest, practice_slug: str, **kwargs) -> HttpResponse:
        practice = _practice(practice_slug)
        if refused := post_refused(request, practice_id=practice.pk):
            return refused
        if sesame_settings.TOKEN_NAME in request.GET:
            return _sign_in_with_link(request, practice)
        with practice_scope(practice):
            client = signed_in_client(request, practice)
            if client is None:
                sign_in = reverse("portal_sign_in", kwargs={"practice_slug": practice.slug})
                return redirect(sign_in + "?" + urlencode({"next": request.path}))
            return view(request, client, **kwargs)

    return wrapped


def _safe_next(value: str, practice: Practice) -> str:
    """Only a page of this practice's portal; anything else is the portal's home."""
    home = portal_home_path(practice)
    return value if value.startswith(home) and "//" not in value else home


@require_http_methods(["GET", "POST"])
def portal_sign_in(request: HttpRequest, practice_slug: str) -> HttpResponse:
    """ "Get a sign-in link": the same answer whether or not the address is a client's."""
    practice = _practice(practice_slug)
    if refused := post_refused(request, practice_id=practice.pk):
        return refused
    if sesame_settings.TOKEN_NAME in request.GET:
        return _sign_in_with_link(request, practice)
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
