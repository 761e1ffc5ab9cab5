"""Stripe events record when their next attempt is due (`retry_at`) and which one a worker
is processing, so a sweep can re-enqueue what a killed worker held (issue 15, case 7)."""

import django.utils.timezone
from django.db import migrations, models


def due_times_from_history(apps, schema_editor):
    """Finished events have no next attempt; a pending one was due when it arrived. A
    failed one keeps the migration's time: due now (its old retry message is harmless)."""
    StripeEvent = apps.get_model("billing", "StripeEvent")
    StripeEvent.objects.filter(status__in=["processed", "ignored", "dead"]).update(retry_at=None)
    StripeEvent.objects.filter(status="pending").update(retry_at=models.F("received_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0011_offer_session_minutes_bounds"),
    ]

    operations = [
        migrations.AddField(
            model_name="stripeevent",
            name="retry_at",
            field=models.DateTimeField(blank=True, default=django.utils.timezone.now, null=True),
        ),
        migrations.AddField(
            model_name="stripeevent",
            name="claimed_by",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AlterField(
            model_name="stripeevent",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Waiting to be processed"),
                    ("processing", "Being processed"),
                    ("processed", "Processed"),
                    ("ignored", "Ignored (not a type we act on)"),
                    ("failed", "Failed (retrying)"),
                    ("dead", "Gave up — needs a look"),
                    ("invalid", "Invalid — cannot be processed as sent"),
                ],
                default="pending",
                max_length=10,
            ),
        ),
        migrations.RunPython(due_times_from_history, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="stripeevent",
            index=models.Index(
                condition=models.Q(("status__in", ["pending", "processing", "failed"])),
                fields=["retry_at"],
                name="stripe_event_due",
            ),
        ),
    ]
