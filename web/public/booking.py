"""Public booking pages: the calendar link, its slots JSON, and the signed manage link.

Visitors are anonymous, so each view opens the scope of the practice named in the
URL (or inside the signed token) before it reads anything.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import wraps
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from billing.selectors import packages_only_for_new_clients, packages_sold_by, paid_link_terms
from billing.services import booking_start
from coachhub.models import Practice
from coachhub.tenancy import practice_scope
from coachhub.timezones import (
    local_day_start,
    picker_first_day,
    time_zone_choices,
    typed_instant,
    zone_names,
)
from integrations.calendar import ics
from sessions_app.booking_tokens import TokenExpired, TokenInvalid, manage_token, read_manage_token
from sessions_app.models import Booking, BookingLink
from sessions_app.notifications import event_data, portal_page_url
from sessions_app.selectors import (
    SlotQueryError,
    booking_link_for_page,
    link_slots,
    parse_slot_query,
)
from sessions_app.services import SlotTaken, booking_cancel, booking_reschedule
from sessions_app.slot_cache import SlotCacheEntry
from web.forms import apply_validation_error
from web.limits import change_refused, post_refused
from web.public.forms import BookingForm

PAGE_DAYS = 7


def _visitor_zone(request: HttpRequest, fallback: str) -> ZoneInfo:
    name = request.GET.get("tz") or request.POST.get("tz") or fallback
    return ZoneInfo(name if name in zone_names() else fallback)


def _practice(practice_slug: str) -> Practice:
    return get_object_or_404(Practice, slug=practice_slug)


def _days_of_slots(
    link: BookingLink, *, zone: ZoneInfo, first_day: dt.date, days: int, now, ignore=None
) -> list[tuple[dt.date, list[dt.datetime]]]:
    start = local_day_start(first_day, zone)
    end = local_day_start(first_day + dt.timedelta(days=days), zone)
    if ignore is None:
        entry = SlotCacheEntry(
            practice_slug=link.practice.slug,
            link_slug=link.slug,
            view="page",
            window_start=start,
            window_end=end,
            now=now,
        )
        slots = entry.get()
        if slots is None:
            version = entry.version_of(link.coach_id)
            slots = link_slots(link, window_start=start, window_end=end, now=entry.as_of)
            entry.put(coach_id=link.coach_id, version=version, value=slots)
    else:  # a reschedule page frees the visitor's own session: not shared, not cached
        slots = link_slots(
            link, window_start=start, window_end=end, now=now, ignore_session_id=ignore
        )
    by_day: dict[dt.date, list[dt.datetime]] = {
        first_day + dt.timedelta(days=i): [] for i in range(days)
    }
    for slot in slots:
        local = slot.astimezone(zone)
        by_day.setdefault(local.date(), []).append(local)
    return sorted(by_day.items())


def _picker_context(request, link, *, zone, now, ignore=None) -> dict:
    today = now.astimezone(zone).date()
    first_day = picker_first_day(request.GET.get("from"), today=today)
    return {
        "link": link,
        "practice": link.practice,
        "zone": zone,
        "zones": time_zone_choices(),
        "days": _days_of_slots(
            link, zone=zone, first_day=first_day, days=PAGE_DAYS, now=now, ignore=ignore
        ),
        "previous_from": (first_day - dt.timedelta(days=PAGE_DAYS)) if first_day > today else None,
        "next_from": first_day + dt.timedelta(days=PAGE_DAYS),
        "coach_zone": link.coach.time_zone,
        "terms": paid_link_terms(link),
        **_offers_context(link),
    }


def _offers_context(link: BookingLink) -> dict:
    """Packages the visitor can buy instead of (or before) one paid session."""
    if not link.requires_payment or not link.practice.payments_connected:
        return {"packages": [], "packages_only": False}
    return {
        "packages": list(packages_sold_by(link.coach_id, practice=link.practice)),
        "packages_only": bool(link.offer_id and packages_only_for_new_clients(link.offer)),
    }


@require_GET
def booking_page(request: HttpRequest, practice_slug: str, link_slug: str) -> HttpResponse:
    practice = _practice(practice_slug)
    with practice_scope(practice):
        link = booking_link_for_page(practice_slug, link_slug)
        zone = _visitor_zone(request, practice.time_zone)
        context = _picker_context(request, link, zone=zone, now=timezone.now())
        context["detect_zone"] = "tz" not in request.GET
        return render(request, "sessions_app/public/booking_page.html", context)


@require_GET
def booking_slots(request: HttpRequest, practice_slug: str, link_slug: str) -> HttpResponse:
    """`GET …/slots?start=YYYY-MM-DD&end=YYYY-MM-DD&tz=Area/City` → {"slots": [...]}.

    A repeat of a recent question is answered from the slot cache without the database.
    """
    try:
        first_day, last_day, zone = parse_slot_query(
            request.GET.get("start"), request.GET.get("end"), request.GET.get("tz")
        )
    except SlotQueryError as error:
        with practice_scope(_practice(practice_slug)):
            booking_link_for_page(practice_slug, link_slug)  # an unknown link stays a 404
        return JsonResponse({"error": str(error)}, status=400)
    window_start = local_day_start(first_day, zone)
    window_end = local_day_start(last_day + dt.timedelta(days=1), zone)
    entry = SlotCacheEntry(
        practice_slug=practice_slug,
        link_slug=link_slug,
        view=f"json:{zone.key}",
        window_start=window_start,
        window_end=window_end,
        now=timezone.now(),
    )
    content = entry.get()
    if content is None:
        with practice_scope(_practice(practice_slug)):
            link = booking_link_for_page(practice_slug, link_slug)
            version = entry.version_of(link.coach_id)
            slots = link_slots(
                link, window_start=window_start, window_end=window_end, now=entry.as_of
            )
        content = json.dumps(
            {"slots": [slot.astimezone(zone).isoformat() for slot in slots], "time_zone": zone.key}
        ).encode()
        entry.put(coach_id=link.coach_id, version=version, value=content)
    return HttpResponse(content, content_type="application/json")


def _parse_start(value: str | None) -> dt.datetime | None:
    return typed_instant(value, now=timezone.now())


@require_http_methods(["GET", "POST"])
def booking_confirm(request: HttpRequest, practice_slug: str, link_slug: str) -> HttpResponse:
    """Name and e-mail for the chosen time, then book (or hold for checkout)."""
    practice = _practice(practice_slug)
    if refused := post_refused(request, practice_id=practice.pk):
        return refused
    with practice_scope(practice):
        link = booking_link_for_page(practice_slug, link_slug)
        zone = _visitor_zone(request, practice.time_zone)
        starts_at = _parse_start(request.POST.get("start") or request.GET.get("start"))
        if starts_at is None:
            return render(
                request,
                "sessions_app/public/message.html",
                {
                    "practice": practice,
                    "title": "Choose a time first",
                    "message": "That link does not name a time. "
                    "Go back and pick one of the times offered.",
                    "back": link.get_absolute_url(),
                },
                status=400,
            )
        form = BookingForm(request.POST or None, initial={"tz": zone.key})
        status = 200
        if request.method == "POST" and form.is_bot:
            form.refuse()
            status = 400
        elif request.method == "POST" and form.is_valid():
            if refused := change_refused(request, practice_id=practice.pk):
                return refused
            try:
                booking, checkout = booking_start(
                    link=link,
                    name=form.cleaned_data["name"],
                    email=form.cleaned_data["email"],
                    starts_at=starts_at,
                    time_zone=zone.key,
                )
            except SlotTaken as error:
                context = _picker_context(request, link, zone=zone, now=timezone.now())
                context["taken_message"] = error.messages[0]
                return render(request, "sessions_app/public/booking_page.html", context, status=409)
            except ValidationError as error:
                apply_validation_error(form, error)
                status = 400
            else:
                if checkout is not None:  # held while the visitor pays on Stripe
                    return redirect(checkout.url)
                token = manage_token(booking, now=timezone.now())
                return redirect(reverse("booking_manage", kwargs={"token": token}) + "?new=1")
        elif request.method == "POST":
            status = 400
        return render(
            request,
            "sessions_app/public/booking_confirm.html",
            {
                "link": link,
                "practice": practice,
                "form": form,
                "start": starts_at.astimezone(zone),
                "zone": zone,
                "terms": paid_link_terms(link),
            },
            status=status,
        )


class _TokenGone(Exception):
    pass


def _booking_from_token(token: str) -> tuple[int, Booking]:
    """Resolve a manage token: forged → 404, expired → raise _TokenGone (410)."""
    try:
        practice_id, booking_id = read_manage_token(token, now=timezone.now())
    except TokenInvalid:
        raise Http404("This link is not valid.") from None
    except TokenExpired:
        raise _TokenGone from None
    with practice_scope(practice_id):
        booking = (
            Booking.objects.select_related(
                "session__coach",
                "session__practice",
                "session__booking_link__coach",
                "session__booking_link__practice",
                "session__engagement",
                "client",
                "practice",
            )
            .filter(practice_id=practice_id, public_id=booking_id)
            .first()
        )
    if booking is None:
        raise Http404("This link is not valid.")
    return practice_id, booking


def link_gone(request) -> HttpResponse:
    """An expired manage or session link: the branded 410 page, saying what to do instead.
    (A link is made for the session's time; one from before a move can expire early.)"""
    return render(
        request,
        "410.html",
        {
            "title": "This link has expired",
            "message": "This link is invalid or has expired — ask your coach for a new one. "
            "Your booking itself is unchanged.",
        },
        status=410,
    )


def _token_view(view):
    """Resolve the signed token to its booking and run the view in its practice's scope."""

    @wraps(view)
    def wrapped(request, token: str, *args, **kwargs):
        try:
            practice_id, booking = _booking_from_token(token)
        except _TokenGone:
            return link_gone(request)
        if refused := post_refused(request, practice_id=practice_id):
            return refused
        with practice_scope(practice_id):
            return view(request, booking, token, *args, **kwargs)

    return wrapped


@require_GET
@_token_view
def booking_manage(request: HttpRequest, booking: Booking, token: str) -> HttpResponse:
    session = booking.session
    zone = ZoneInfo(booking.time_zone)
    return render(
        request,
        "sessions_app/public/booking_manage.html",
        {
            "booking": booking,
            "session": session,
            "practice": booking.practice,
            "token": token,
            "zone": zone,
            "start": session.starts_at.astimezone(zone) if session.starts_at else None,
            "end": session.ends_at.astimezone(zone) if session.ends_at else None,
            "is_new": request.GET.get("new") == "1",
            "can_reschedule": not booking.reschedule_refusal(at=timezone.now()),
            "late_cancel": session.is_late_cancel(at=timezone.now()),
        },
    )


@require_GET
@_token_view
def booking_invite(request: HttpRequest, booking: Booking, token: str) -> HttpResponse:
    """The booking's invite as a file: "Add to calendar" for any calendar app; its link
    opens the session in the client's portal, as every invite's does."""
    session = booking.session
    if session.starts_at is None:
        raise Http404("This session has no time yet.")
    link = portal_page_url(session)  # a file kept in calendars: no sign-in token
    data = event_data(
        session,
        attendees=[ics.Person(booking.client.name, booking.client.email)],
        description=f"Reschedule or cancel: {link}",
        url=link,
    )
    response = HttpResponse(
        ics.invite(data, now=timezone.now()), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="session.ics"'
    return response


@require_http_methods(["GET", "POST"])
@_token_view
def booking_cancel_view(request: HttpRequest, booking: Booking, token: str) -> HttpResponse:
    context = {
        "booking": booking,
        "session": booking.session,
        "practice": booking.practice,
        "token": token,
        "start": booking.session.starts_at.astimezone(ZoneInfo(booking.time_zone))
        if booking.session.starts_at
        else None,
        "late_cancel": booking.session.is_late_cancel(at=timezone.now()),
        "zone": ZoneInfo(booking.time_zone),
    }
    if request.method == "POST":
        if refused := change_refused(request, practice_id=booking.practice_id):
            return refused
        try:
            booking_cancel(booking=booking)
        except ValidationError as error:
            context["error"] = error.messages[0]
            return render(request, "sessions_app/public/booking_cancel.html", context, status=400)
        return redirect("booking_manage", token=token)
    return render(request, "sessions_app/public/booking_cancel.html", context)


@require_http_methods(["GET", "POST"])
@_token_view
def booking_reschedule_view(request: HttpRequest, booking: Booking, token: str) -> HttpResponse:
    link = booking.session.booking_link
    if link is None:
        raise Http404("This session was not booked through a link.")
    zone = _visitor_zone(request, booking.time_zone)
    now = timezone.now()
    status = 200
    error_message = ""
    if request.method == "POST":
        starts_at = _parse_start(request.POST.get("start"))
        if starts_at is None:
            error_message, status = "Choose one of the times offered.", 400
        elif refused := change_refused(request, practice_id=booking.practice_id):
            return refused
        else:
            try:
                booking_reschedule(booking=booking, starts_at=starts_at)
            except SlotTaken as error:
                error_message, status = error.messages[0], 409
            except ValidationError as error:
                error_message, status = error.messages[0], 400
            else:
                return redirect("booking_manage", token=token)
    context = _picker_context(request, link, zone=zone, now=now, ignore=booking.session_id)
    context.update(
        {
            "booking": booking,
            "token": token,
            "reschedule": True,
            "taken_message": error_message,
            "detect_zone": False,
        }
    )
    return render(request, "sessions_app/public/booking_page.html", context, status=status)
