"""Messages queued by the release before the task base (old task names, positional ids,
no `practice_id`) still run after a deploy: each is handed to the task that does the work."""

from __future__ import annotations

import pytest
from django.core import mail
from django_scopes import scopes_disabled

from billing.models import EventStatus
from coachhub.celery import app

pytestmark = pytest.mark.django_db


def queued_before(name: str, *args):
    """Run a message as the earlier release queued it: by name, with positional ids."""
    app.loader.import_default_modules()  # what a worker does at start: every app's tasks
    return app.tasks[name].apply(args=args).get()


def test_a_stripe_event_queued_before_is_processed(world):
    event = world.home.objects["stripe_event"]
    assert queued_before("billing.tasks.stripe_event_process", event.pk) == "handed on"
    with scopes_disabled():
        event.refresh_from_db()
    assert event.status == EventStatus.IGNORED  # an invoice.created: stored, nothing to do


def test_an_invite_queued_before_is_sent(world):
    session = world.home.objects["session"]
    mail.outbox.clear()
    assert queued_before("sessions_app.tasks.session_notify", session.pk, "confirmed")
    assert mail.outbox and all("Confirmed" in message.subject for message in mail.outbox)


def test_every_old_name_is_still_registered():
    app.loader.import_default_modules()
    for name in (
        "billing.tasks.stripe_event_process",
        "billing.tasks.stripe_reconcile_practice",
        "billing.tasks.purchase_confirmation_send",
        "sessions_app.tasks.session_notify",
        "integrations.calendar.tasks.external_calendar_refresh",
    ):
        assert name in app.tasks, name
