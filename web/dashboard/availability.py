"""Dashboard pages for a coach's own set-up: hours, overrides, calendars, feed, booking links."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from coachhub.links import absolute
from coachhub.permissions import can
from coachhub.tenancy import ability_required, member_required
from coachhub.timezones import time_zone_choices
from sessions_app import services
from sessions_app.models import (
    BOOKING_LINK_EDITABLE_FIELDS,
    AllDayEvents,
    BookingLink,
    DateOverride,
    ExternalCalendar,
    WeeklyHours,
)
from web.dashboard.availability_forms import BookingLinkForm, DateOverrideForm, WeeklyHoursForm
from web.forms import apply_validation_error


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


@ability_required("availability.manage")
@require_http_methods(["GET", "POST"])
def availability(request: HttpRequest) -> HttpResponse:
    """The signed-in coach's weekly hours, date overrides, calendars and feed."""
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
                    services.external_calendar_add(
                        practice=practice, actor=coach, coach=coach, **calendar_form.cleaned_data
                    )
                    messages.success(request, "Calendar connected; its busy time is being read.")
                    return redirect("availability")
            elif action == "time_zone":
                zone = request.POST.get("time_zone", "")
                services.coach_time_zone_set(practice=practice, actor=coach, time_zone=zone)
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
                practice=practice, coach=coach, date__gte=timezone.localdate()
            ),
            "calendars": ExternalCalendar.objects.filter(practice=practice, coach=coach),
            "hours_form": hours_form,
            "override_form": override_form,
            "calendar_form": calendar_form,
            "feed_url": absolute(feed.get_absolute_url()),
            "zones": time_zone_choices(),
        },
    )


def _own_row(model: type[Model], request: HttpRequest, pk: int) -> Model:
    row = (
        model.objects.filter(practice=request.practice, pk=pk)
        .select_related("practice", "coach")
        .first()
    )
    if row is None or (
        row.coach_id != request.user.pk
        and not can(request.membership, "availability.manage_anyones")
    ):
        raise Http404("Not found.")
    return row


def _availability_row_delete(
    request: HttpRequest, model: type[Model], pk: int, done: str
) -> HttpResponse:
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
        services.external_calendar_remove(calendar=calendar, actor=request.user)
        messages.success(request, "Calendar disconnected; its busy time no longer blocks booking.")
    else:
        outcome = services.external_calendar_refresh(calendar=calendar)
        calendar.refresh_from_db()
        if outcome == "failed":
            messages.error(request, f"Refresh failed: {calendar.last_error}")
        else:
            messages.success(request, f"Calendar {outcome}: {calendar.busy_count} busy times.")
    return redirect("availability")


@ability_required("availability.manage")
@require_POST
def feed_rotate(request: HttpRequest) -> HttpResponse:
    feed = services.feed_token_for(practice=request.practice, coach=request.user)
    services.feed_token_rotate(feed_token=feed, actor=request.user)
    messages.success(request, "New feed address made; the old one no longer works.")
    return redirect("availability")


@member_required
def booking_link_list(request: HttpRequest) -> HttpResponse:
    links = BookingLink.objects.filter(practice=request.practice).select_related(
        "coach", "practice"
    )
    if not can(request.membership, "clients.see_all"):
        links = links.filter(coach=request.user)
    return render(request, "sessions_app/booking_link_list.html", {"links": links})


@ability_required("availability.manage")
@require_http_methods(["GET", "POST"])
def booking_link_edit(request: HttpRequest, link_pk: int | None = None) -> HttpResponse:
    link = None
    if link_pk is not None:
        link = _own_row(BookingLink, request, link_pk)
    form = BookingLinkForm(request.POST or None, instance=link, practice=request.practice)
    if request.method == "POST" and form.is_valid():
        try:
            fields = {name: form.cleaned_data[name] for name in BOOKING_LINK_EDITABLE_FIELDS}
            saved = services.booking_link_save(
                practice=request.practice, actor=request.user, link=link, **fields
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"Link saved: {absolute(saved.get_absolute_url())}")
            return redirect("booking_link_list")
    return render(request, "sessions_app/booking_link_form.html", {"form": form, "link": link})
