"""Forms for the coach's availability: weekly hours, date overrides and booking links."""

from __future__ import annotations

from django import forms

from billing.selectors import offers_for_booking_links
from engagements.models import Engagement, EngagementKind
from sessions_app.models import BOOKING_LINK_EDITABLE_FIELDS, BookingLink, DateOverride, WeeklyHours


class WeeklyHoursForm(forms.ModelForm):
    class Meta:
        model = WeeklyHours
        fields = ["weekday", "starts", "ends"]
        widgets = {
            "starts": forms.TimeInput(attrs={"type": "time"}),
            "ends": forms.TimeInput(attrs={"type": "time"}),
        }


class DateOverrideForm(forms.ModelForm):
    class Meta:
        model = DateOverride
        fields = ["date", "starts", "ends"]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}),
            "starts": forms.TimeInput(attrs={"type": "time"}),
            "ends": forms.TimeInput(attrs={"type": "time"}),
        }
        help_texts = {"starts": "Leave both times empty for a day off."}


class BookingLinkForm(forms.ModelForm):
    engagement = forms.ModelChoiceField(
        queryset=Engagement.objects.none(),
        required=False,
        help_text="For a group link: the team workshop its sessions belong to.",
    )
    offer = forms.ModelChoiceField(
        queryset=BookingLink.objects.none(),
        required=False,
        help_text="For a paid link: what the visitor buys at checkout (set up under Offers).",
    )

    class Meta:
        model = BookingLink
        fields = BOOKING_LINK_EDITABLE_FIELDS

    def __init__(self, *args, practice=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["engagement"].queryset = Engagement.objects.filter(
            practice=practice, kind=EngagementKind.TEAM_WORKSHOP
        )
        self.fields["offer"].queryset = offers_for_booking_links(practice)
