"""Coach dashboard pages for sessions, availability, booking links and feeds."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from coachhub.links import absolute
from coachhub.services import model_update
from coachhub.tenancy import member_required
from coachhub.timezones import time_zone_choices
from engagements.selectors import seat_allowance
from integrations.calendar.services import (
    external_calendar_add,
    external_calendar_refresh,
    external_calendar_remove,
)
from integrations.models import AllDayEvents, ExternalCalendar
from sessions_app import services
from sessions_app.models import BookingLink, DateOverride, SessionStatus, WeeklyHours
from sessions_app.notifications import schedule_invite
from sessions_app.selectors import session_get_for_member
from sessions_app.slot_cache import coach_availability_changed
from web.dashboard.availability_forms import BookingLinkForm, DateOverrideForm, WeeklyHoursForm
from web.forms import LocalDateTimeField, apply_validation_error


class RescheduleForm(forms.Form):
    def __init__(self, *args, zone, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["starts_at"] = LocalDateTimeField(label=f"New time ({zone.key})", zone=zone)


class ExternalCalendarForm(forms.ModelForm):
    class Meta:
        model = ExternalCalendar
        fields = ["name", "url", "all_day_events", "transparent_events_block"]
        widgets = {"url": forms.URLInput(attrs={"placeholder": "https://… or webcal://…"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["url"] = forms.CharField(
            max_length=1000,
            label="Secret iCal address",
            help_text="Google: Settings → your calendar → “Secret address in iCal format”.",
        )
        self.fields["all_day_events"].choices = AllDayEvents.choices


@member_required
def session_detail(request: HttpRequest, session_uuid) -> HttpResponse:
    session = session_get_for_member(request.membership, session_uuid)
    allowance = None
    if session.seat_id:
        allowance = seat_allowance(session.seat, at=session.starts_at or timezone.now())
    zone = ZoneInfo(request.user.time_zone)
    return render(
        request,
        "sessions_app/session_detail.html",
        {
            "session": session,
            "allowance": allowance,
            "bookings": session.bookings.select_related("client"),
            "reschedule_form": RescheduleForm(zone=zone),
            "can_change": session.status in (SessionStatus.SCHEDULED, SessionStatus.TO_SCHEDULE),
            "viewer_zone": zone,
        },
    )


@member_required
@require_http_methods(["GET", "POST"])
def session_reschedule_view(request: HttpRequest, session_uuid) -> HttpResponse:
    session = session_get_for_member(request.membership, session_uuid)
    if request.method != "POST":
        return redirect(session)
    form = RescheduleForm(request.POST, zone=ZoneInfo(request.user.time_zone))
    if form.is_valid():
        try:
            services.session_reschedule(
                session=session, actor=request.user, starts_at=form.cleaned_data["starts_at"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "Session moved; attendees were sent the updated invite.")
    else:
        messages.error(request, " ".join(form.errors.get("starts_at", ["Give a new time."])))
    return redirect(session.get_absolute_url())


@member_required
@require_http_methods(["GET", "POST"])
def session_status_view(request: HttpRequest, session_uuid) -> HttpResponse:
    session = session_get_for_member(request.membership, session_uuid)
    if request.method != "POST":
        return redirect(session)
    status = request.POST.get("status", "")
    if status not in SessionStatus.values:
        messages.error(request, "Choose a status.")
        return redirect(session.get_absolute_url())
    try:
        services.session_status_set(session=session, actor=request.user, status=status)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Session marked {SessionStatus(status).label.lower()}.")
    return redirect(session.get_absolute_url())


def _coach_only(request: HttpRequest) -> None:
    if request.membership.role == "assistant":
        raise PermissionDenied("Availability and booking links belong to coaches.")


@member_required
@require_http_methods(["GET", "POST"])
def availability(request: HttpRequest) -> HttpResponse:
    """The signed-in coach's weekly hours, date overrides, calendars and feed."""
    _coach_only(request)
    practice, coach = request.practice, request.user
    hours_form, override_form = WeeklyHoursForm(prefix="hours"), DateOverrideForm(prefix="override")
    calendar_form = ExternalCalendarForm(prefix="calendar")
    action = request.POST.get("action")
    if request.method == "POST":
        try:
            if action == "hours":
                hours_form = WeeklyHoursForm(request.POST, prefix="hours")
                if hours_form.is_valid():
                    services.weekly_hours_add(
                        practice=practice, actor=coach, coach=coach, **hours_form.cleaned_data
                    )
                    messages.success(request, "Hours added.")
                    return redirect("availability")
            elif action == "override":
                override_form = DateOverrideForm(request.POST, prefix="override")
                if override_form.is_valid():
                    services.date_override_add(
                        practice=practice, actor=coach, coach=coach, **override_form.cleaned_data
                    )
                    messages.success(request, "Date override saved.")
                    return redirect("availability")
            elif action == "calendar":
                calendar_form = ExternalCalendarForm(request.POST, prefix="calendar")
                if calendar_form.is_valid():
                    external_calendar_add(
                        practice=practice, actor=coach, coach=coach, **calendar_form.cleaned_data
                    )
                    messages.success(request, "Calendar connected; its busy time is being read.")
                    return redirect("availability")
            elif action == "time_zone":
                zone = request.POST.get("time_zone", "")
                model_update(instance=coach, data={"time_zone": zone}, fields=["time_zone"])
                coach_availability_changed(coach.pk)
                messages.success(request, f"Your hours are now read in {zone}.")
                return redirect("availability")
        except ValidationError as error:
            form = {"hours": hours_form, "override": override_form, "calendar": calendar_form}.get(
                action
            )
            if form is not None:
                apply_validation_error(form, error)
            else:
                messages.error(request, " ".join(error.messages))
    feed = services.feed_token_for(practice=practice, coach=coach)
    return render(
        request,
        "sessions_app/availability.html",
        {
            "weekly_hours": WeeklyHours.objects.filter(practice=practice, coach=coach),
            "overrides": DateOverride.objects.filter(
                practice=practice, coach=coach, date__gte=timezone.now().date()
            ),
            "calendars": ExternalCalendar.objects.filter(practice=practice, coach=coach),
            "hours_form": hours_form,
            "override_form": override_form,
            "calendar_form": calendar_form,
            "feed_url": absolute(feed.get_absolute_url()),
            "zones": time_zone_choices(),
        },
    )


def _own_row(model, request: HttpRequest, pk: int):
    row = (
        model.objects.filter(practice=request.practice, pk=pk)
        .select_related("practice", "coach")
        .first()
    )
    if row is None or (row.coach_id != request.user.pk and not request.membership.is_owner):
        raise Http404("Not found.")
    return row


def _availability_row_delete(request: HttpRequest, model, pk: int, done: str) -> HttpResponse:
    row = _own_row(model, request, pk)
    if request.method == "POST":
        services.availability_row_delete(row=row, actor=request.user)
        messages.success(request, done)
    return redirect("availability")


@member_required
@require_http_methods(["GET", "POST"])
def weekly_hours_delete(request: HttpRequest, hours_pk: int) -> HttpResponse:
    return _availability_row_delete(request, WeeklyHours, hours_pk, "Hours removed.")


@member_required
@require_http_methods(["GET", "POST"])
def date_override_delete(request: HttpRequest, override_pk: int) -> HttpResponse:
    return _availability_row_delete(request, DateOverride, override_pk, "Override removed.")


@member_required
@require_http_methods(["GET", "POST"])
def external_calendar_action(request: HttpRequest, calendar_pk: int) -> HttpResponse:
    calendar = _own_row(ExternalCalendar, request, calendar_pk)
    if request.method != "POST":
        return redirect("availability")
    if request.POST.get("action") == "delete":
        external_calendar_remove(calendar=calendar, actor=request.user)
        messages.success(request, "Calendar disconnected; its busy time no longer blocks booking.")
    else:
        outcome = external_calendar_refresh(calendar=calendar)
        calendar.refresh_from_db()
        if outcome == "failed":
            messages.error(request, f"Refresh failed: {calendar.last_error}")
        else:
            messages.success(request, f"Calendar {outcome}: {calendar.busy_count} busy times.")
    return redirect("availability")


@member_required
@require_POST
def feed_rotate(request: HttpRequest) -> HttpResponse:
    _coach_only(request)
    feed = services.feed_token_for(practice=request.practice, coach=request.user)
    services.feed_token_rotate(feed_token=feed, actor=request.user)
    messages.success(request, "New feed address made; the old one no longer works.")
    return redirect("availability")


@member_required
def booking_link_list(request: HttpRequest) -> HttpResponse:
    links = BookingLink.objects.filter(practice=request.practice).select_related(
        "coach", "practice"
    )
    if not request.membership.sees_all_clients:
        links = links.filter(coach=request.user)
    return render(request, "sessions_app/booking_link_list.html", {"links": links})


@member_required
@require_http_methods(["GET", "POST"])
def booking_link_edit(request: HttpRequest, link_pk: int | None = None) -> HttpResponse:
    _coach_only(request)
    link = None
    if link_pk is not None:
        link = _own_row(BookingLink, request, link_pk)
    form = BookingLinkForm(request.POST or None, instance=link, practice=request.practice)
    if request.method == "POST" and form.is_valid():
        try:
            fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
            saved = services.booking_link_save(
                practice=request.practice, actor=request.user, link=link, **fields
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"Link saved: {absolute(saved.get_absolute_url())}")
            return redirect("booking_link_list")
    return render(request, "sessions_app/booking_link_form.html", {"form": form, "link": link})


@member_required
def engagement_schedule_ics(request: HttpRequest, engagement_pk: int) -> HttpResponse:
    """A monthly package's recurring sessions as one event with an RRULE (UNTIL in UTC)."""
    from engagements.selectors import engagement_get_for_member

    engagement = engagement_get_for_member(request.membership, engagement_pk)
    body = schedule_invite(engagement)
    if body is None:
        raise Http404("This engagement has no recurring schedule yet.")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="schedule.ics"'
    return response
