"""Forms on the public pages: a visitor's name and e-mail for a booking or a purchase."""

from __future__ import annotations

from django import forms


class BookingForm(forms.Form):
    name = forms.CharField(max_length=160, label="Your name")
    email = forms.EmailField(label="E-mail", help_text="The confirmation and invite go here.")
    tz = forms.CharField(widget=forms.HiddenInput)


class BuyForm(forms.Form):
    name = forms.CharField(max_length=160)
    email = forms.EmailField()
    tz = forms.CharField(required=False, widget=forms.HiddenInput)
