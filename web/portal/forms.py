"""The portal's one form: the e-mail a client asks a sign-in link for."""

from __future__ import annotations

from django import forms


class LinkRequestForm(forms.Form):
    email = forms.EmailField(
        label="Your e-mail",
        max_length=254,
        help_text="The address your coach has for you.",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
