"""Forms for the practice itself: sign-up, a new practice, its settings, adding members."""

import json

from django import forms

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
    return [("", "My browser's time zone"), *time_zone_choices()]


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
    field_order = ["practice_name", "time_zone", "currency"]

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


class PracticeSettingsForm(forms.Form):
    name = forms.CharField(max_length=120)
    time_zone = forms.ChoiceField(choices=time_zone_choices)
    currency = forms.CharField(max_length=3)
    brand_colour = forms.CharField(max_length=7)
    default_session_minutes = forms.IntegerField(min_value=5, max_value=480)
    cancellation_window_hours = forms.IntegerField(min_value=0, max_value=720)
    one_off_sessions_for_new_clients = forms.BooleanField(required=False)


class MyAccountForm(forms.Form):
    time_zone = forms.ChoiceField(
        choices=time_zone_choices,
        label="Your time zone",
        help_text="Every dashboard page shows times in it and forms read the times you type in "
        "it. Your weekly hours (Availability) are read in it too.",
    )


class MemberAddForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.COACH)
