"""Form pieces the interfaces share: local date-times, coach choices, service errors on a form."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import BaseTemporalField
from django.utils import timezone

from coachhub.models import Membership, User


class CoachChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.display_name


class LocalDateTimeField(forms.DateTimeField):
    """A wall-clock date and time typed in the viewer's zone (the one the request activated,
    so it is the zone the pages show), returned as an aware UTC time. Its label names it."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def __init__(self, *args, zone=None, **kwargs):
        self.zone = zone
        kwargs.setdefault("input_formats", ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
        super().__init__(*args, **kwargs)

    @property
    def input_zone(self):
        return self.zone or timezone.get_current_timezone()

    def get_bound_field(self, form, field_name):
        bound = super().get_bound_field(form, field_name)
        bound.label = f"{bound.label} ({self.input_zone.key})"
        return bound

    def prepare_value(self, value):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(self.input_zone).replace(tzinfo=None)
        return super().prepare_value(value)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        zone = self.input_zone
        if isinstance(value, dt.datetime):
            naive = value.astimezone(zone).replace(tzinfo=None) if value.tzinfo else value
        else:
            # The wall clock as typed (BaseTemporalField's formats), read in `zone` below;
            # DateTimeField's own to_python would read it in the active zone with its message.
            naive = BaseTemporalField.to_python(self, value)
        aware = naive.replace(tzinfo=zone)
        if aware.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != naive:
            raise ValidationError(
                "That time does not exist in %(zone)s (clocks change); choose another.",
                params={"zone": zone.key},
            )
        return aware.astimezone(dt.UTC)


class MemberForm(forms.Form):
    """A form that knows the member it serves (for querysets and role rules)."""

    def __init__(self, *args, membership: Membership, **kwargs):
        self.membership = membership
        self.practice = membership.practice
        super().__init__(*args, **kwargs)


def apply_validation_error(form: forms.Form, error) -> None:
    """Show a service's ValidationError on the form: on its field when the form has it."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)
