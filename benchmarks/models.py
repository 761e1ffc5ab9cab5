"""The one table the baseline view writes to (only installed with benchmarks.settings)."""

from django.db import models


class BenchRow(models.Model):
    """A request body, stored the way a webhook stores its event: one INSERT."""

    body = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Row {self.pk}"
