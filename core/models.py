from django.db import models


class OutboxTask(models.Model):
    """A Celery task waiting to be sent: written in the transaction that asked for it, so it is
    never lost with an unreachable broker, and deleted once the broker took it (core/outbox.py)."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    attempts = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created", "id"]
        indexes = [
            # The resend task takes the oldest waiting tasks first.
            models.Index(fields=["created"], name="core_outboxtask_created_idx"),
        ]

    def __str__(self):
        return f"{self.task}{tuple(self.args)} waiting since {self.created:%Y-%m-%d %H:%M:%S}"
