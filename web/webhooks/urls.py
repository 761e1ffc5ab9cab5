"""Webhook receivers: providers POST signed events here (no session, no CSRF)."""

from django.urls import path

from web.webhooks import stripe

urlpatterns = [
    path(
        "webhooks/stripe/<uuid:practice_public_id>/", stripe.stripe_webhook, name="stripe_webhook"
    ),
]
