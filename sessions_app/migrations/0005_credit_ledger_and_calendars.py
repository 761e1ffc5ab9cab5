"""Models that moved here without moving their tables: the credit ledger (from billing) and
external calendars with their busy time (from integrations). Only Django's state changes;
content types follow, so admin history and permissions keep pointing at the right model."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MOVED = [("billing", "creditentry"), ("integrations", "externalcalendar"), ("integrations", "busyinterval")]


def content_types_follow(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for app_label, model in MOVED:
        if ContentType.objects.filter(app_label="sessions_app", model=model).exists():
            continue
        ContentType.objects.filter(app_label=app_label, model=model).update(
            app_label="sessions_app"
        )


def content_types_go_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for app_label, model in MOVED:
        if ContentType.objects.filter(app_label=app_label, model=model).exists():
            continue
        ContentType.objects.filter(app_label="sessions_app", model=model).update(
            app_label=app_label
        )


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("coachhub", "0002_practice_reminder_lead_minutes"),
        ("engagements", "0001_initial"),
        ("billing", "0006_credit_ledger_moves_to_sessions"),
        ("integrations", "0002_calendars_move_to_sessions"),
        ("sessions_app", "0004_bookinglink_offer"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="CreditEntry",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kind", models.CharField(choices=[("grant", "Granted"), ("consume", "Used for a session"), ("restore", "Restored (timely cancel)"), ("expire", "Expired"), ("revoke", "Revoked (refund)"), ("adjust", "Adjusted by the coach")], max_length=10)),
                        ("amount", models.SmallIntegerField(help_text="+ adds credits, − takes them.")),
                        ("effect_key", models.CharField(max_length=160)),
                        ("note", models.CharField(blank=True, max_length=255)),
                        ("override_reason", models.CharField(blank=True, help_text="Why the balance may go below zero.", max_length=255)),
                        ("expires_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("client", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="credit_entries", to="engagements.client")),
                        ("engagement", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="credit_entries", to="engagements.engagement")),
                        ("practice", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="credit_entries", to="coachhub.practice")),
                        ("session", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="credit_entries", to="sessions_app.session")),
                        ("purchase", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="credit_entries", to="billing.purchase")),
                    ],
                    options={
                        "verbose_name_plural": "credit entries",
                        "db_table": "billing_creditentry",
                        "ordering": ["created_at", "pk"],
                        "indexes": [models.Index(fields=["engagement", "created_at"], name="billing_cre_engagem_68df7d_idx")],
                        "constraints": [models.UniqueConstraint(fields=("practice", "effect_key"), name="credit_effect_once")],
                    },
                ),
                migrations.CreateModel(
                    name="ExternalCalendar",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(default="My calendar", max_length=120)),
                        ("url", models.URLField(help_text="The calendar's secret iCal address.", max_length=1000)),
                        ("all_day_events", models.CharField(choices=[("busy", "Block the whole day"), ("ignore", "Ignore all-day events")], default="busy", max_length=8)),
                        ("transparent_events_block", models.BooleanField(default=False, help_text="Events marked “free” (TRANSP:TRANSPARENT) also block booking.")),
                        ("etag", models.CharField(blank=True, max_length=200)),
                        ("content_hash", models.CharField(blank=True, max_length=64)),
                        ("last_fetched_at", models.DateTimeField(blank=True, null=True)),
                        ("last_success_at", models.DateTimeField(blank=True, null=True)),
                        ("last_error", models.TextField(blank=True)),
                        ("busy_count", models.PositiveIntegerField(default=0)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("coach", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="external_calendars", to=settings.AUTH_USER_MODEL)),
                        ("practice", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="external_calendars", to="coachhub.practice")),
                    ],
                    options={"db_table": "integrations_externalcalendar", "ordering": ["name"]},
                ),
                migrations.CreateModel(
                    name="BusyInterval",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("starts_at", models.DateTimeField()),
                        ("ends_at", models.DateTimeField()),
                        ("coach", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("practice", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="coachhub.practice")),
                        ("calendar", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="busy_intervals", to="sessions_app.externalcalendar")),
                    ],
                    options={
                        "db_table": "integrations_busyinterval",
                        "indexes": [models.Index(fields=["coach", "ends_at"], name="busy_coach_end")],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_types_follow, content_types_go_back),
    ]
