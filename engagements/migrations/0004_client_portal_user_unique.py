"""One portal account is one client per practice: bindings left from an e-mail the client
no longer has are let go of first (their links must not open that client's sessions)."""

from django.db import migrations, models


def release_stale_bindings(apps, schema_editor):
    Client = apps.get_model("engagements", "Client")
    kept: set[tuple[int, int]] = set()
    bound = Client.objects.filter(user__isnull=False).select_related("user").order_by("pk")
    for client in bound.iterator():
        key = (client.practice_id, client.user_id)
        if client.user.email.strip().lower() != client.email or key in kept:
            Client.objects.filter(pk=client.pk).update(user=None)
        else:
            kept.add(key)


class Migration(migrations.Migration):
    dependencies = [
        ("engagements", "0003_client_portal_user"),
    ]

    operations = [
        migrations.RunPython(release_stale_bindings, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="client",
            constraint=models.UniqueConstraint(
                condition=models.Q(("user__isnull", False)),
                fields=("practice", "user"),
                name="unique_client_portal_user",
            ),
        ),
    ]
