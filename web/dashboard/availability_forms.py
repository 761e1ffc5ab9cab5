"""Forms for booking pages and the coach's availability and links."""

from __future__ import annotations

from django import forms

from engagements.models import Engagement, EngagementKind
from sessions_app.models import BookingLink, DateOverride, WeeklyHours


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
        fields = [
            "title",
            "slug",
            "description",
            "duration_minutes",
            "step_minutes",
            "buffer_before_minutes",
            "buffer_after_minutes",
            "minimum_notice_minutes",
            "horizon_days",
            "max_per_day",
            "capacity",
            "engagement",
            "requires_payment",
            "offer",
            "location",
            "reschedule_cutoff_hours",
            "max_reschedules",
            "is_active",
        ]

    def __init__(self, *args, practice=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["engagement"].queryset = Engagement.objects.filter(
            practice=practice, kind=EngagementKind.TEAM_WORKSHOP
        )
        from billing.models import Offer, OfferKind

        self.fields["offer"].queryset = Offer.objects.filter(
            practice=practice,
            is_active=True,
            kind__in=[OfferKind.SINGLE_SESSION, OfferKind.SESSION_PACK],
        )
