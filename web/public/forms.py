"""Forms on the public pages: a visitor's name and e-mail for a booking or a purchase,
and the sign-up of someone invited to a practice.

The booking and buy forms carry a honeypot: a text field hidden from people (off screen,
out of the tab order, hidden from screen readers) that form-filling bots fill in. A form
with it filled is refused before anything is created (`HoneypotForm.is_bot`).
"""

from __future__ import annotations

from allauth.account.forms import SignupForm
from django import forms

from coachhub.models import Practice


class HoneypotField(forms.CharField):
    """Rendered by `_form_fields.html` inside an off-screen box, not as a field."""

    honeypot = True

    def __init__(self):
        super().__init__(
            required=False,
            label="Leave this empty",
            widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
        )


class HoneypotForm(forms.Form):
    website = HoneypotField()

    @property
    def is_bot(self) -> bool:
        """A person never sees the field, so anything in it was typed by a program."""
        return bool(self.data.get("website", "").strip())

    def refuse(self) -> None:
        """Show the form again with an error that says nothing of why."""
        self.is_valid()
        self.add_error(None, "This could not be sent. Please check the form and try again.")


class BookingForm(HoneypotForm):
    name = forms.CharField(max_length=160, label="Your name")
    email = forms.EmailField(label="E-mail", help_text="The confirmation and invite go here.")
    tz = forms.CharField(widget=forms.HiddenInput)


class BuyForm(HoneypotForm):
    name = forms.CharField(max_length=160)
    email = forms.EmailField()
    places = forms.IntegerField(
        label="Participants",
        min_value=1,
        initial=1,
        required=False,
        help_text="How many people come.",
    )
    tz = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, offer, **kwargs):
        super().__init__(*args, **kwargs)
        if not offer.sells_places:
            del self.fields["places"]  # one person: nothing to choose
        else:
            self.fields["places"].widget.attrs["max"] = offer.capacity
            self.fields["places"].help_text = f"Up to {offer.capacity} people." + (
                " The price is per participant." if offer.priced_per_participant else ""
            )


class InvitedSignupForm(SignupForm):
    """allauth's sign-up for someone invited: no practice of their own to name, since they
    join the inviting one (accepted as they are signed in, coachhub.accounts)."""

    def __init__(self, *args, **kwargs):
        self.invited_to: Practice | None = kwargs.pop("invited_to", None)
        super().__init__(*args, **kwargs)
        # Only what an account needs: the practice sign-up's own fields are for a new practice.
        for name in set(self.fields) - {"email", "password1", "password2"}:
            del self.fields[name]

    def signup(self, request, user) -> None:
        if self.invited_to is not None:
            user.time_zone = self.invited_to.time_zone
            user.save(update_fields=["time_zone"])
