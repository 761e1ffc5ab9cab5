"""The client portal's pages: the client's sessions, one session with its changes
(reschedule, cancel: the same services and rules as the signed links), the calendar feed
to subscribe to, and what the client has left to use.

Every view gets the client `portal_page` found from (the practice in the URL and the
session, the signed-in account); a session is looked up among that client's only, so
anyone else's is a 404.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from coachhub.links import absolute
from coachhub.timezones import PICKER_HORIZON, local_day_start, picker_first_day, typed_instant
from engagements.models import Client
from sessions_app.models import Session, SessionStatus
from sessions_app.portal import (
    attendance,
    client_allowance,
    client_booking_for,
    client_credit_balances,
    client_session_get,
    client_session_lists,
)
from sessions_app.selectors import link_slots
from sessions_app.services import (
    SlotTaken,
    booking_cancel,
    booking_reschedule,
    feed_token_for,
    session_cancel_by_attendee,
)
from web.limits import change_refused
from web.portal.caring import home_caring_context, session_caring_context
from web.portal.signin import client_zone, portal_page

PICKER_DAYS = 7


def _feed_urls(client: Client) -> tuple[str, str]:
    """The client's private feed as https and as webcal (what calendar apps subscribe to)."""
    token = feed_token_for(practice=client.practice, client=client)
    https = absolute(reverse("calendar_feed", kwargs={"token": token.token}))
    return https, "webcal://" + https.split("://", 1)[1]


@portal_page
@require_GET
def portal_home(request: HttpRequest, client: Client) -> HttpResponse:
    """Upcoming and past sessions, what is left to use, the feed to subscribe to."""
    now = timezone.now()
    upcoming, past = client_session_lists(client, now=now)
    for session in (*upcoming, *past):
        session.shown_status, session.shown_label = attendance(session)
    feed_https, feed_webcal = _feed_urls(client)
    return render(
        request,
        "portal/home.html",
        {
            "practice": client.practice,
            "client": client,
            "zone": client_zone(client),
            "upcoming": upcoming,
            "past": past,
            "credits": client_credit_balances(client),
            "allowance": client_allowance(client, at=now),
            "feed_https": feed_https,
            "feed_webcal": feed_webcal,
            **home_caring_context(client),
        },
    )


def _session_or_404(client: Client, session_uuid) -> Session:
    session = client_session_get(client, session_uuid)
    if session is None:
        raise Http404("No such session.")
    return session


def _changes(client: Client, session: Session, *, now: dt.datetime) -> dict:
    """What the client may do to this session now, and why not (the services' own rules)."""
    booking = client_booking_for(client, session)
    if booking is not None:
        booking.session = session
    upcoming = session.status == SessionStatus.SCHEDULED and session.starts_at > now
    reschedule_refusal = booking.reschedule_refusal(at=now) if booking and upcoming else ""
    return {
        "booking": booking,
        "can_cancel": upcoming and (booking is not None or session.client_id == client.pk),
        "can_reschedule": upcoming and booking is not None and not reschedule_refusal,
        "reschedule_refusal": reschedule_refusal,
        "late_cancel": session.is_late_cancel(at=now),
    }


def _session_context(client: Client, session: Session, *, now: dt.datetime) -> dict:
    zone = client_zone(client)
    return {
        "practice": client.practice,
        "client": client,
        "session": session,
        "status": attendance(session),
        "zone": zone,
        "start": session.starts_at.astimezone(zone),
        "end": session.ends_at.astimezone(zone),
        **_changes(client, session, now=now),
    }


@portal_page
@require_GET
def portal_session(request: HttpRequest, client: Client, session_uuid) -> HttpResponse:
    session = _session_or_404(client, session_uuid)
    context = _session_context(client, session, now=timezone.now())
    context.update(session_caring_context(client, session))
    return render(request, "portal/session.html", context)


@portal_page
@require_http_methods(["GET", "POST"])
def portal_session_cancel(request: HttpRequest, client: Client, session_uuid) -> HttpResponse:
    """Ask, then cancel: inside the cancellation window it counts as used."""
    session = _session_or_404(client, session_uuid)
    context = _session_context(client, session, now=timezone.now())
    if not context["can_cancel"]:
        context["error"] = "This session can no longer be cancelled here; contact your coach."
        return render(request, "portal/cancel.html", context, status=400)
    if request.method == "POST":
        if refused := change_refused(request, practice_id=client.practice_id):
            return refused
        try:
            if context["booking"] is not None:
                booking_cancel(booking=context["booking"])
            else:
                session_cancel_by_attendee(session=session, client_id=client.pk)
        except ValidationError as error:
            context["error"] = error.messages[0]
            return render(request, "portal/cancel.html", context, status=400)
        messages.success(request, "Your session is cancelled. Your coach has been told.")
        return redirect(
            "portal_session", practice_slug=client.practice.slug, session_uuid=session_uuid
        )
    return render(request, "portal/cancel.html", context)


def _parse_start(value: str | None, *, now: dt.datetime) -> dt.datetime | None:
    """The chosen start, or None for one the picker could not have offered (past, or
    beyond the picker's reach)."""
    start = typed_instant(value, now=now)
    latest = now + PICKER_HORIZON + dt.timedelta(days=PICKER_DAYS + 1)
    return start if start is not None and now <= start <= latest else None


def _slot_days(session: Session, *, zone: ZoneInfo, first_day: dt.date, now: dt.datetime):
    """The booking link's free times for a week, the client's own session freed."""
    link = session.booking_link
    start = local_day_start(first_day, zone)
    end = local_day_start(first_day + dt.timedelta(days=PICKER_DAYS), zone)
    slots = link_slots(
        link, window_start=start, window_end=end, now=now, ignore_session_id=session.pk
    )
    days: dict[dt.date, list[dt.datetime]] = {
        first_day + dt.timedelta(days=i): [] for i in range(PICKER_DAYS)
    }
    for slot in slots:
        local = slot.astimezone(zone)
        days.setdefault(local.date(), []).append(local)
    return sorted(days.items())


@portal_page
@require_http_methods(["GET", "POST"])
def portal_session_reschedule(request: HttpRequest, client: Client, session_uuid) -> HttpResponse:
    """Choose a new time among the booking link's free ones; nothing is used up again."""
    session = _session_or_404(client, session_uuid)
    now = timezone.now()
    context = _session_context(client, session, now=now)
    zone, status = context["zone"], 200
    if not context["can_reschedule"]:
        context["error"] = context["reschedule_refusal"] or (
            "This session cannot be rescheduled here; contact your coach."
        )
        return render(request, "portal/reschedule.html", context, status=400)
    if request.method == "POST":
        starts_at = _parse_start(request.POST.get("start"), now=now)
        if starts_at is None:
            context["error"], status = "Choose one of the times offered.", 400
        elif refused := change_refused(request, practice_id=client.practice_id):
            return refused
        else:
            try:
                booking = booking_reschedule(booking=context["booking"], starts_at=starts_at)
            except SlotTaken as error:
                context["error"], status = error.messages[0], 409
            except ValidationError as error:
                context["error"], status = error.messages[0], 400
            else:
                messages.success(request, "Your session has moved. A new invite is on its way.")
                return redirect(  # a group place may now be another session's
                    "portal_session",
                    practice_slug=client.practice.slug,
                    session_uuid=booking.session.public_id,
                )
    today = now.astimezone(zone).date()
    first_day = picker_first_day(request.GET.get("from"), today=today)
    context.update(
        {
            "days": _slot_days(session, zone=zone, first_day=first_day, now=now),
            "previous_from": first_day - dt.timedelta(days=PICKER_DAYS)
            if first_day > today
            else None,
            "next_from": first_day + dt.timedelta(days=PICKER_DAYS),
        }
    )
    return render(request, "portal/reschedule.html", context, status=status)
