"""Forms for the practice itself: sign-up, a new practice, its settings, inviting members."""

import json
import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from coachhub.models import Role
from coachhub.tenancy import SESSION_KEY
from coachhub.timezones import (
    FALLBACK_TIME_ZONE,
    currency_for_zone,
    currency_table,
    known_zone,
    time_zone_choices,
)
from engagements.services import practice_set_up


def _zone_choices_with_detect() -> list[tuple[str, str]]:
    return [("", "Detect from my browser (else Europe/London)"), *time_zone_choices()]


def _currency_choices() -> list[tuple[str, str]]:
    codes = sorted({*currency_table().values(), "GBP", "EUR", "USD"})
    return [("", "Suggested from the time zone"), *((code, code) for code in codes)]


class NewPracticeFields(forms.Form):
    """A new practice's zone and currency. A tiny script of ours (static/js/time_zone.js)
    puts the browser's zone in `browser_time_zone` and preselects it and its currency;
    without the script, or with a zone we do not know, Europe/London and its currency."""

    browser_time_zone = forms.CharField(
        required=False,
        max_length=64,
        widget=forms.HiddenInput(attrs={"data-detect-time-zone": "time_zone"}),
    )
    time_zone = forms.ChoiceField(
        choices=_zone_choices_with_detect,
        required=False,
        help_text="Your practice's zone and your own; each member can change theirs later.",
        widget=forms.Select(attrs={"data-zone-select": "1"}),
    )
    currency = forms.ChoiceField(
        choices=_currency_choices,
        required=False,
        help_text="What your offers are priced in.",
        widget=forms.Select(attrs={"data-currency-by-zone": json.dumps(currency_table())}),
    )

    def clean(self):
        data = super().clean()
        detected = known_zone(data.get("browser_time_zone"))
        data["time_zone"] = (
            data.get("time_zone") or (detected.key if detected else "") or FALLBACK_TIME_ZONE
        )
        data["currency"] = data.get("currency") or currency_for_zone(data["time_zone"])
        return data


class PracticeSignupForm(NewPracticeFields):
    """Extra fields on allauth's sign-up: a new user always starts with their practice."""

    practice_name = forms.CharField(
        max_length=120, label="Practice name", help_text="You can rename it later."
    )
    field_order = ["email", "password1", "password2", "practice_name", "time_zone", "currency"]

    def signup(self, request, user) -> None:
        practice = practice_set_up(
            owner=user,
            name=self.cleaned_data["practice_name"],
            time_zone=self.cleaned_data["time_zone"],
            currency=self.cleaned_data["currency"],
        )
        user.time_zone = self.cleaned_data["time_zone"]
        user.save(update_fields=["time_zone"])
        request.session[SESSION_KEY] = practice.pk


class PracticeCreateForm(NewPracticeFields):
    name = forms.CharField(max_length=120, label="Practice name")
    field_order = ["name", "time_zone", "currency"]


BRAND_COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Choose a colour such as #2f5d62.")
MAX_REMINDERS, MAX_REMINDER_HOURS = 5, 720


class ReminderHoursField(forms.CharField):
    """Reminder lead times typed as hours ("24, 1"; "0.5" is half an hour), kept as minutes."""

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(
                f"{Decimal(minutes) / 60:f}".rstrip("0").rstrip(".") for minutes in value
            )
        return value

    def to_python(self, value) -> list[int]:
        text = super().to_python(value)
        minutes: list[int] = []
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            try:
                hours = Decimal(item)
            except InvalidOperation:
                raise ValidationError(
                    "“%(item)s” is not a number of hours; write them like 24, 1.",
                    params={"item": item},
                ) from None
            if not hours.is_finite() or hours <= 0:
                raise ValidationError("A reminder must go out before the session (more than 0).")
            if hours > MAX_REMINDER_HOURS:
                raise ValidationError(f"Reminders go out at most {MAX_REMINDER_HOURS} hours ahead.")
            if (hours * 60) % 1:
                raise ValidationError("Use whole minutes: 0.25 is a quarter of an hour.")
            if int(hours * 60) in minutes:
                raise ValidationError("%(item)s is listed twice.", params={"item": item})
            minutes.append(int(hours * 60))
        if len(minutes) > MAX_REMINDERS:
            raise ValidationError(f"At most {MAX_REMINDERS} reminders per session.")
        return sorted(minutes, reverse=True)


class PracticeSettingsForm(forms.Form):
    """The practice's own settings and the defaults its booking links start from."""

    name = forms.CharField(max_length=120, label="Practice name")
    time_zone = forms.ChoiceField(
        choices=time_zone_choices,
        label="Practice time zone",
        help_text="Monthly allowances, statements and the first-month rule count days in it. "
        "Each member sees times in their own zone (My account).",
    )
    currency = forms.CharField(
        widget=forms.TextInput(attrs={"maxlength": 3, "size": 4}),
        help_text="A three-letter code such as GBP, EUR or USD; new offers are priced in it.",
    )
    logo_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Logo (image address)",
        help_text="A link to your logo image (https://…), shown on your booking pages. "
        "Empty: no logo.",
    )
    brand_colour = forms.CharField(
        max_length=7,
        validators=[BRAND_COLOUR],
        widget=forms.TextInput(attrs={"type": "color"}),
        help_text="Buttons and accents on your pages.",
    )
    default_session_minutes = forms.IntegerField(
        min_value=5, max_value=480, label="Default session length (minutes)"
    )
    buffer_before_minutes = forms.IntegerField(
        min_value=0,
        max_value=240,
        label="Buffer before each session (minutes)",
        help_text="Free time kept before a booked session. Like the next three, it is what a "
        "new booking link starts with; each link can change its own.",
    )
    buffer_after_minutes = forms.IntegerField(
        min_value=0,
        max_value=240,
        label="Buffer after each session (minutes)",
        help_text="Free time kept after a booked session.",
    )
    minimum_notice_minutes = forms.IntegerField(
        min_value=0,
        max_value=30 * 24 * 60,
        label="Minimum notice (minutes)",
        help_text="Visitors cannot book sooner than this: 720 minutes is 12 hours.",
    )
    booking_horizon_days = forms.IntegerField(
        min_value=1,
        max_value=730,
        label="Booking horizon (days)",
        help_text="How far ahead visitors may book.",
    )
    cancellation_window_hours = forms.IntegerField(
        min_value=0,
        max_value=720,
        label="Cancellation window (hours)",
        help_text="A client who cancels less than this long before the session has it counted "
        "as used (a late cancel); earlier, it is not counted.",
    )
    reminder_lead_minutes = ReminderHoursField(
        required=False,
        label="Reminder e-mails (hours before the session)",
        help_text="Comma-separated: 24, 1 sends one a day before and one an hour before; "
        "0.5 is half an hour. Empty: no reminders.",
    )
    prep_lead_hours = forms.IntegerField(
        min_value=1,
        max_value=14 * 24,
        label="Prep questionnaire (hours before the session)",
        help_text="Clients get the session's prep questions by e-mail this long before it "
        "(48: two days); a session booked later gets them at once.",
    )
    commitment_reminder_time = forms.TimeField(
        label="Missed-commitment reminders (practice time)",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="A client whose commitment's due date has passed is reminded once, "
        "at this time of day.",
    )
    one_off_sessions_for_new_clients = forms.BooleanField(
        required=False,
        label="Sell single sessions to new clients",
        help_text="Ticked: anyone may buy a single session. Unticked: people who have never "
        "bought from you are offered packages only; returning clients can still buy single "
        "sessions.",
    )

    SECTIONS = [
        ("Your practice", ["name", "time_zone", "currency", "logo_url", "brand_colour"]),
        (
            "Defaults for new booking links",
            [
                "default_session_minutes",
                "buffer_before_minutes",
                "buffer_after_minutes",
                "minimum_notice_minutes",
                "booking_horizon_days",
            ],
        ),
        (
            "Cancellations, reminders and sales",
            [
                "cancellation_window_hours",
                "reminder_lead_minutes",
                "one_off_sessions_for_new_clients",
            ],
        ),
        ("Between sessions", ["prep_lead_hours", "commitment_reminder_time"]),
    ]

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The fields in the groups the page shows them in."""
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]

    def clean_logo_url(self) -> str:
        """A new logo address must be https: the pages are, and browsers block (or warn
        about) an http image on them. One already saved is kept as it is."""
        url = self.cleaned_data["logo_url"]
        if url and url != self.initial.get("logo_url") and not url.startswith("https://"):
            raise ValidationError("Use an https:// address for the logo image.")
        return url

    def clean_currency(self) -> str:
        code = self.cleaned_data["currency"].strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise ValidationError("Use a three-letter currency code such as GBP, EUR or USD.")
        return code


class MyAccountForm(forms.Form):
    time_zone = forms.ChoiceField(
        choices=time_zone_choices,
        label="Your time zone",
        help_text="Every dashboard page shows times in it and forms read the times you type in "
        "it. Your weekly hours (Availability) are read in it too.",
    )


class InvitationForm(forms.Form):
    email = forms.EmailField(help_text="They get an e-mail with a link to join (valid 7 days).")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.COACH)
