"""External calendars and their busy time now belong to sessions_app (availability); the
tables stay. integrations keeps the provider clients that read and write calendars."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="BusyInterval"),
                migrations.DeleteModel(name="ExternalCalendar"),
            ],
            database_operations=[],
        ),
    ]
