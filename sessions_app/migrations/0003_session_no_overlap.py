"""No two live sessions or holds of one coach overlap — enforced by PostgreSQL.

An exclusion constraint over (coach, time range) for the statuses that block time.
SQLite has no such constraint; there the booking service's transaction (SQLite's
IMMEDIATE mode serialises writers) and re-check do the same job.
"""

from django.db import migrations

STATUSES = "('held', 'scheduled', 'completed')"


def add_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(
        "ALTER TABLE sessions_app_session ADD CONSTRAINT session_no_overlap_per_coach "
        "EXCLUDE USING gist (coach_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
        f"WHERE (status IN {STATUSES} AND starts_at IS NOT NULL)"
    )


def drop_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE sessions_app_session DROP CONSTRAINT IF EXISTS session_no_overlap_per_coach"
    )


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0002_calendarfeedtoken_dateoverride_remindersent_and_more")]

    operations = [migrations.RunPython(add_constraint, drop_constraint)]
