"""Dashboard forms. Querysets are set per request (the tenant scope exists only then)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from coachhub.models import User
from coachhub.permissions import can
from coachhub.tenancy import coaches_of
from coachhub.timezones import time_zone_choices
from engagements.models import (
    Cadence,
    Client,
    ClientStatus,
    CollectionKind,
    CollectionTemplate,
    EngagementStatus,
    Organization,
    ResourceKind,
    StepState,
    Weekday,
)
from engagements.participants import parse_participant_csv, parse_participant_lines
from engagements.selectors import clients_visible_to
from web.forms import CoachChoiceField, LocalDateTimeField, MemberForm


class ClientForm(MemberForm):
    name = forms.CharField(max_length=160)
    email = forms.EmailField()
    time_zone = forms.ChoiceField(choices=time_zone_choices, initial="Europe/London")
    phone = forms.CharField(max_length=40, required=False)
    status = forms.ChoiceField(choices=ClientStatus.choices, initial=ClientStatus.ACTIVE)
    tags = forms.CharField(required=False, help_text="Comma-separated.")
    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), required=False)
    coach = CoachChoiceField(queryset=User.objects.none(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = Organization.objects.filter(practice=self.practice)
        self.fields["coach"].queryset = coaches_of(self.practice)
        if not self.is_bound and "time_zone" not in self.initial:
            self.initial["time_zone"] = self.practice.time_zone
        if (
            can(self.membership, "clients.coached_by_default")
            and not self.is_bound
            and not self.initial.get("coach")
        ):
            self.initial["coach"] = self.membership.user_id

    def clean_tags(self) -> list[str]:
        return [tag.strip() for tag in self.cleaned_data["tags"].split(",") if tag.strip()]


class PrivateNotesForm(forms.Form):
    private_notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), required=False)


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=160)
    billing_email = forms.EmailField(required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class ContractForm(MemberForm):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none())
    title = forms.CharField(max_length=160, initial="Coaching programme")
    starts_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    seats = forms.IntegerField(min_value=1, max_value=10000)
    sessions_per_seat_per_month = forms.IntegerField(min_value=1, max_value=31, initial=2)
    session_minutes = forms.IntegerField(min_value=5, max_value=480, initial=55)
    price_per_seat_month = forms.DecimalField(
        min_value=Decimal("0"), decimal_places=2, max_digits=10
    )
    first_month_cutoff_day = forms.IntegerField(
        label="First-month cut-off day",
        min_value=1,
        max_value=28,
        initial=15,
        help_text="A client who chooses their coach on or before this day of the month "
        "(practice time zone) is billed for that month in full.",
    )
    first_month_credit = forms.BooleanField(
        label="Credit an unused late first month",
        required=False,
        initial=True,
        help_text="Coach chosen after the cut-off and no session that month: the company "
        "gets one seat-month back while under contract. Unticked: that month is simply "
        "not billed.",
    )

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:  # a contract stays with its company
            del self.fields["organization"]
            return
        self.fields["organization"].queryset = Organization.objects.filter(practice=self.practice)

    def clean(self):
        data = super().clean()
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", "The contract cannot end before it starts.")
        return data


class SeatAssignForm(MemberForm):
    client = forms.ModelChoiceField(queryset=Client.objects.none())
    coach = CoachChoiceField(queryset=User.objects.none())
    coach_chosen_at = LocalDateTimeField(required=False, help_text="Empty: now.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = Client.objects.filter(practice=self.practice)
        self.fields["coach"].queryset = coaches_of(self.practice)


class ClientOrNewMixin(MemberForm):
    """Pick an existing client or type a new one's name and e-mail (found by e-mail if known)."""

    client = forms.ModelChoiceField(
        queryset=Client.objects.none(), required=False, empty_label="— a new client —"
    )
    new_client_name = forms.CharField(max_length=160, required=False, label="New client's name")
    new_client_email = forms.EmailField(required=False, label="New client's e-mail")
    coach = CoachChoiceField(queryset=User.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = clients_visible_to(self.membership).order_by("name")
        self.fields["coach"].queryset = coaches_of(self.practice)
        if can(self.membership, "clients.coached_by_default") and not self.is_bound:
            self.initial.setdefault("coach", self.membership.user_id)

    def clean(self):
        data = super().clean()
        if not data.get("client") and not data.get("new_client_email"):
            raise ValidationError("Choose a client or enter a new client's name and e-mail.")
        if not data.get("client") and not data.get("new_client_name"):
            self.add_error("new_client_name", "Enter the new client's name.")
        return data


class PerSessionForm(ClientOrNewMixin):
    session_minutes = forms.IntegerField(
        min_value=5, max_value=480, required=False, help_text="Empty: the practice default."
    )
    first_session_at = LocalDateTimeField(
        required=False, help_text="Leave empty to schedule later (or when the client books)."
    )
    send_platform_invite = forms.BooleanField(
        required=False,
        initial=True,
        label="Send CoachHub's calendar invite",
        help_text="Untick when your booking tool already sends one.",
    )
    aims = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Big-picture aims"
    )
    allowance_override_reason = forms.CharField(
        required=False,
        label="Override reason (owners only)",
        help_text="Only to book a seat client beyond this month's allowance.",
    )


class MonthlyPackageForm(ClientOrNewMixin):
    hours_per_month = forms.DecimalField(
        min_value=Decimal("0.25"), max_value=Decimal("100"), decimal_places=2, initial=Decimal("2")
    )
    cadence = forms.ChoiceField(choices=Cadence.choices, initial=Cadence.BIWEEKLY)
    session_minutes = forms.IntegerField(
        min_value=5, max_value=480, initial=60, label="Length (minutes)"
    )
    preferred_weekday = forms.TypedChoiceField(
        choices=[("", "— not agreed yet —"), *Weekday.choices],
        coerce=int,
        required=False,
        empty_value=None,
        label="Day",
    )
    preferred_time = forms.TimeField(
        required=False,
        label="Time (coach's time zone)",
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    starts_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    months = forms.IntegerField(min_value=1, max_value=36, initial=3, label="Duration (months)")
    aims = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Big-picture aims"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The schedule repeats in the chosen coach's zone; name it for each coach.
        zones = "; ".join(
            f"{coach.display_name}: {coach.time_zone}" for coach in self.fields["coach"].queryset
        )
        self.fields["preferred_time"].help_text = f"In the coach's own zone ({zones})."

    def clean(self):
        data = super().clean()
        if (data.get("preferred_weekday") is None) != (data.get("preferred_time") is None):
            raise ValidationError("Agree both a day and a time, or leave both empty for now.")
        hours, minutes = data.get("hours_per_month"), data.get("session_minutes")
        if hours and minutes and hours * 60 < minutes:
            self.add_error("hours_per_month", "The monthly hours do not cover one session.")
        return data


class TeamWorkshopForm(MemberForm):
    title = forms.CharField(max_length=160)
    core_subject = forms.CharField(max_length=200)
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(), required=False, label="Company"
    )
    coach = CoachChoiceField(queryset=User.objects.none())
    starts_at = LocalDateTimeField(required=False, label="Date and time")
    session_minutes = forms.IntegerField(
        min_value=15, max_value=480, initial=120, label="Length (minutes)"
    )
    participants_text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "Ada Lovelace <ada@example.com>"}),
        required=False,
        label="Participants (one per line)",
    )
    participants_csv = forms.FileField(
        required=False, label="…or a CSV with name and email columns"
    )
    template = forms.ModelChoiceField(
        queryset=CollectionTemplate.objects.none(),
        required=False,
        empty_label="— build the agenda myself —",
    )
    agenda = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        label="Agenda (one item per line, when building it yourself)",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = Organization.objects.filter(practice=self.practice)
        self.fields["coach"].queryset = coaches_of(self.practice)
        self.fields["template"].queryset = CollectionTemplate.objects.filter(
            practice=self.practice, kind=CollectionKind.TEAM
        )
        if not self.is_bound:
            self.initial.setdefault("template", self.fields["template"].queryset.first())
            if can(self.membership, "clients.coached_by_default"):
                self.initial.setdefault("coach", self.membership.user_id)

    def clean_participants_csv(self):
        upload = self.cleaned_data.get("participants_csv")
        if not upload:
            return []
        if upload.size > 1_000_000:
            raise ValidationError("The CSV file is larger than 1 MB.")
        return parse_participant_csv(upload.read())

    def clean_participants_text(self):
        return parse_participant_lines(self.cleaned_data.get("participants_text", ""))

    def clean(self):
        data = super().clean()
        people = {
            p.email: p for p in data.get("participants_text", []) + data.get("participants_csv", [])
        }
        data["participants"] = list(people.values())
        data["agenda_items"] = [
            line.strip() for line in data.get("agenda", "").splitlines() if line.strip()
        ]
        if not data.get("template") and not data["agenda_items"]:
            self.add_error("agenda", "Choose a template or write the agenda.")
        return data


class SessionForm(MemberForm):
    starts_at = LocalDateTimeField(label="Date and time")
    minutes = forms.IntegerField(min_value=5, max_value=480)
    location = forms.CharField(max_length=300, required=False, help_text="Place or video link.")
    allowance_override_reason = forms.CharField(
        required=False, label="Override reason (owners only)"
    )


class ParticipantsAddForm(forms.Form):
    participants_text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        label="Participants (one per line)",
    )
    participants_csv = forms.FileField(required=False, label="…or a CSV")

    def clean(self):
        data = super().clean()
        people = parse_participant_lines(data.get("participants_text", ""))
        upload = data.get("participants_csv")
        if upload:
            people += parse_participant_csv(upload.read())
        if not people:
            raise ValidationError("Add at least one participant.")
        data["participants"] = people
        return data


class ResourceForm(forms.Form):
    title = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=ResourceKind.choices)
    url = forms.URLField(required=False, assume_scheme="https")
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class EngagementEditForm(forms.Form):
    title = forms.CharField(max_length=160)
    status = forms.ChoiceField(choices=EngagementStatus.choices)
    aims = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    send_platform_invite = forms.BooleanField(required=False)


class ChecklistStepForm(forms.Form):
    state = forms.ChoiceField(choices=StepState.choices)
    reason = forms.CharField(required=False, max_length=500)


class ScheduleForm(forms.Form):
    """A monthly package's cadence, day and time (in the coach's zone)."""

    cadence = forms.ChoiceField(choices=Cadence.choices)
    preferred_weekday = forms.TypedChoiceField(choices=Weekday.choices, coerce=int, label="Day")
    preferred_time = forms.TimeField(label="Time", widget=forms.TimeInput(attrs={"type": "time"}))
