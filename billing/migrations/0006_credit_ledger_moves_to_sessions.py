"""The credit ledger now belongs to sessions_app (what a session uses up); its table stays."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0005_purchase_setup_refused"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="CreditEntry")],
            database_operations=[],
        ),
    ]
