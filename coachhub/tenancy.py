"""Resolve the active practice once per request and scope every tenant query to it.

The practice comes from the member's choice (kept in the session), membership is
checked here, and the whole request runs inside a django-scopes scope, so a query
on tenant data outside a practice raises instead of leaking rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django_scopes import scope, scopes_disabled

from .models import Membership, Practice, User
from .observability import practice_bind
from .permissions import can, require, roles_with

SESSION_KEY = "active_practice_id"
# Set on a session that a client-portal link signed in: it opens the portal and nothing
# else, since a link is only as strong as a mailbox (no password, no second factor).
PORTAL_ONLY_KEY = "portal_only"


@contextmanager
def practice_scope(practice: Practice | int) -> Iterator[None]:
    """Scope tenant queries to one practice. Never pass None: that would unscope."""
    practice_id = practice if isinstance(practice, int) else practice.pk
    if practice_id is None:
        raise ValueError("practice_scope needs a saved practice")
    practice_bind(practice_id)
    with scope(practice=practice_id):
        yield


def practice_id_of(model, pk: int) -> int | None:
    """The practice of a row named by id: tasks get ids and open that practice's scope."""
    with scopes_disabled():
        return model.objects.filter(pk=pk).values_list("practice_id", flat=True).first()


@contextmanager
def practices_scope(practice_ids: list[int]) -> Iterator[None]:
    """Scope to several practices (a staff member's admin view); empty means none."""
    with scope(practice=list(practice_ids)):
        yield


def memberships_of(user) -> list[Membership]:
    return list(Membership.objects.filter(user=user).select_related("practice"))


def membership_of(practice: Practice, user: User | None) -> Membership | None:
    """The user's membership of one practice, or None (role checks in services).

    Remembered in `practice.memberships_seen` (the practice object lives for one request
    or task): one service chain (a purchase: client, engagement, session) asks about the
    same coach several times. `membership_add` forgets what the object remembered.
    """
    user_id = getattr(user, "pk", None)
    if user_id is None:
        return None
    seen = practice.memberships_seen
    if user_id not in seen:
        # One row at most (unique per practice and user): no ordering, so no joins.
        memberships = Membership.objects.filter(practice=practice, user_id=user_id)
        seen[user_id] = memberships.order_by("pk").first()
    return seen[user_id]


def coaches_here(practice: Practice, user: User | None) -> bool:
    """Whether the user takes clients in this practice (an owner or a coach)."""
    return can(membership_of(practice, user), "clients.coach")


def coaches_of(practice: Practice) -> QuerySet[User]:
    """The practice's owners and coaches: who can be a client's or an offer's coach."""
    return User.objects.filter(
        memberships__practice=practice, memberships__role__in=roles_with("clients.coach")
    ).order_by("first_name", "email")


def practice_owner(practice: Practice) -> User | None:
    """The practice's first owner: who looks after what nobody else can."""
    owner = (
        Membership.objects.filter(practice=practice, role__in=roles_with("practice.manage"))
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return owner.user if owner else None


def practice_contact_email(practice: Practice) -> str:
    """Where a visitor writes when something cannot be done online: the practice has no
    contact address of its own, so its (first) owner's e-mail."""
    owner = practice_owner(practice)
    return owner.email if owner else ""


def memberships_forget(practice: Practice) -> None:
    practice.memberships_seen.clear()


def choose_active_membership(request: HttpRequest, memberships: list[Membership]):
    wanted = request.session.get(SESSION_KEY)
    for membership in memberships:
        if membership.practice_id == wanted:
            return membership
    return memberships[0] if memberships else None


def set_active_practice(request: HttpRequest, practice_id: int) -> Membership:
    """Switch practice; a practice the user is not a member of is a 404."""
    for membership in memberships_of(request.user):
        if membership.practice_id == practice_id:
            request.session[SESSION_KEY] = practice_id
            return membership
    raise Http404("No such practice.")


class TenantMiddleware:
    """Put `practice`, `membership` and `memberships` on the request and scope it.

    The admin is scoped by the admin site itself (see coachhub.admin_site);
    anonymous requests get no scope, so public views must open one explicitly.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.practice = None
        request.membership = None
        request.memberships = []
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or is_portal_only(request):
            return self.get_response(request)
        request.memberships = memberships_of(user)
        membership = choose_active_membership(request, request.memberships)
        if membership is None:
            return self.get_response(request)
        request.membership = membership
        request.practice = membership.practice
        with practice_scope(membership.practice_id):
            return self.get_response(request)


def is_portal_only(request: HttpRequest) -> bool:
    """Whether a client-portal link signed this session in (so it is no member's)."""
    session = getattr(request, "session", None)
    return session is not None and bool(session.get(PORTAL_ONLY_KEY))


def password_session_needed(request: HttpRequest) -> HttpResponse:
    """The answer to a portal link's session asking for a member's page."""
    return render(request, "coachhub/password_session_needed.html", status=403)


def password_session_required(view: Callable) -> Callable:
    """Pages that make or act as a member (a new practice, an invitation accepted): a
    session a portal link signed in gets the page asking for a password sign-in."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if request.user.is_authenticated and is_portal_only(request):
            return password_session_needed(request)
        return view(request, *args, **kwargs)

    return wrapped


def member_required(view: Callable) -> Callable:
    """Dashboard views: signed in with a password, with an active practice (else to the
    practice set-up)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if is_portal_only(request):
            return password_session_needed(request)
        if request.membership is None:
            return redirect("practice_create")
        return view(request, *args, **kwargs)

    return wrapped


def ability_required(ability: str) -> Callable[[Callable], Callable]:
    """A page for members with one ability of the permission table; others get 403 (they
    are members, so the page's existence is no secret)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @member_required
        def wrapped(request: HttpRequest, *args, **kwargs):
            require(request.membership, ability)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


owner_required = ability_required("practice.manage")


__all__ = [
    "TenantMiddleware",
    "ability_required",
    "member_required",
    "owner_required",
    "practice_id_of",
    "practice_scope",
    "practices_scope",
    "scopes_disabled",
    "set_active_practice",
]
