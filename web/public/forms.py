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
