"""Webhook receivers: providers POST signed events here (no session, no CSRF)."""

from django.urls import path

from web.webhooks import slack, stripe

urlpatterns = [
    path(
        "webhooks/stripe/<uuid:practice_public_id>/", stripe.stripe_webhook, name="stripe_webhook"
    ),
    # One address for every workspace, as a Slack app's Request URL takes (the body says whose).
    path("slack/events/", slack.slack_events, name="slack_events"),
]
