"""Form pieces the interfaces share: local date-times, coach choices, service errors on a form."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError

from coachhub.models import Membership, User


class CoachChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.display_name


class LocalDateTimeField(forms.DateTimeField):
    """A wall-clock date and time typed in the practice's zone, returned as an aware UTC time."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def __init__(self, *args, zone=None, **kwargs):
        self.zone = zone
        kwargs.setdefault("input_formats", ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        result = super().to_python(value)
        if result is None:
            return None
        naive = result.replace(tzinfo=None)
        aware = naive.replace(tzinfo=self.zone)
        if aware.astimezone(dt.UTC).astimezone(self.zone).replace(tzinfo=None) != naive:
            raise ValidationError(
                "That time does not exist in %(zone)s (clocks change); choose another.",
                params={"zone": str(self.zone)},
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
