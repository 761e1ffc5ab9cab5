"""Forms for the Stripe connection and for offers."""

from __future__ import annotations

from django import forms

from billing.models import OFFER_EDITABLE_FIELDS, Offer
from coachhub.tenancy import coaches_of


class StripeConnectForm(forms.Form):
    secret_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stripe → Developers → API keys (sk_test_… or sk_live_…). "
        "Leave blank to keep the saved key.",
    )
    publishable_key = forms.CharField(
        required=False, help_text="pk_test_… or pk_live_…. Leave blank to keep the saved key."
    )
    webhook_secret = forms.CharField(
        label="Webhook signing secret",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Shown by Stripe when you add the endpoint below (whsec_…). "
        "Leave blank to keep the saved one.",
    )


class OfferForm(forms.ModelForm):
    class Meta:
        model = Offer
        fields = OFFER_EDITABLE_FIELDS

    def __init__(self, *args, practice=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["coach"].queryset = coaches_of(practice)
        self.fields["price"].help_text = f"In {practice.currency}; per month for a monthly package."
