"""Forms for the practice itself: sign-up, a new practice, its settings, inviting members."""

from django import forms

from coachhub.models import Role
from coachhub.tenancy import SESSION_KEY
from coachhub.timezones import time_zone_choices
from engagements.services import practice_set_up


class PracticeSignupForm(forms.Form):
    """Extra fields on allauth's sign-up: a new user always starts with their practice."""

    practice_name = forms.CharField(
        max_length=120, label="Practice name", help_text="You can rename it later."
    )
    time_zone = forms.ChoiceField(choices=time_zone_choices, initial="Europe/London")

    def signup(self, request, user) -> None:
        practice = practice_set_up(
            owner=user,
            name=self.cleaned_data["practice_name"],
            time_zone=self.cleaned_data["time_zone"],
        )
        user.time_zone = self.cleaned_data["time_zone"]
        user.save(update_fields=["time_zone"])
        request.session[SESSION_KEY] = practice.pk


class PracticeCreateForm(forms.Form):
    name = forms.CharField(max_length=120, label="Practice name")
    time_zone = forms.ChoiceField(choices=time_zone_choices, initial="Europe/London")


class PracticeSettingsForm(forms.Form):
    name = forms.CharField(max_length=120)
    time_zone = forms.ChoiceField(choices=time_zone_choices)
    currency = forms.CharField(max_length=3)
    brand_colour = forms.CharField(max_length=7)
    default_session_minutes = forms.IntegerField(min_value=5, max_value=480)
    cancellation_window_hours = forms.IntegerField(min_value=0, max_value=720)
    one_off_sessions_for_new_clients = forms.BooleanField(required=False)


class InvitationForm(forms.Form):
    email = forms.EmailField(help_text="They get an e-mail with a link to join (valid 7 days).")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.COACH)
