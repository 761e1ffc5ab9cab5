"""What a coach keeps around a session: its prep questionnaire and answers, its agenda,
private notes, the recap shared with the client, and the commitments made."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from coachhub.models import Practice, PracticeScoped


class SessionPrep(PracticeScoped):
    """A session's prep questionnaire: the questions asked (copied from the collection when
    it is sent or first answered) and when the prep e-mail was claimed (once per session)."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    session = models.OneToOneField(
        "sessions_app.Session", on_delete=models.CASCADE, related_name="prep"
    )
    questions = models.JSONField(default=list, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["practice", "sent_at"])]

    def __str__(self) -> str:
        return f"Prep for {self.session}"


class PrepAnswer(PracticeScoped):
    """One client's answers to a session's prep questions, in the questions' order."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    prep = models.ForeignKey(SessionPrep, on_delete=models.CASCADE, related_name="answers")
    client = models.ForeignKey(
        "engagements.Client", on_delete=models.CASCADE, related_name="prep_answers"
    )
    answers = models.JSONField(default=list, blank=True)
    answered_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prep", "client"], name="prep_answer_once_per_client")
        ]

    def __str__(self) -> str:
        return f"{self.client} on {self.prep}"

    def pairs(self) -> list[tuple[str, str]]:
        """(question, answer) in order; a question added later shows an empty answer."""
        answers = list(self.answers or [])
        return [
            (question, answers[number] if number < len(answers) else "")
            for number, question in enumerate(self.prep.questions or [])
        ]


class SessionAgenda(PracticeScoped):
    """The agenda of one session, changed from the template's agenda items."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    session = models.OneToOneField(
        "sessions_app.Session", on_delete=models.CASCADE, related_name="agenda"
    )
    items = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Agenda for {self.session}"


class SessionNote(PracticeScoped):
    """The coach's private notes on a session: coaches and owners only (`clients.notes`)."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    session = models.OneToOneField(
        "sessions_app.Session", on_delete=models.CASCADE, related_name="private_note"
    )
    body = models.TextField(blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Notes on {self.session}"


class RecapChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    PORTAL = "portal", "Client portal"
    SLACK = "slack", "Slack channel"


class Recap(PracticeScoped):
    """The recap of a session: a draft the coach writes, and what was last shared (each
    share is a new version, e-mailed and posted once)."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    session = models.OneToOneField(
        "sessions_app.Session", on_delete=models.CASCADE, related_name="recap"
    )
    engagement = models.ForeignKey(
        "engagements.Engagement", on_delete=models.CASCADE, related_name="recaps"
    )
    body = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=0, help_text="How many times it was shared.")
    shared_body = models.TextField(blank=True)
    shared_at = models.DateTimeField(null=True, blank=True)
    shared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    channels = models.JSONField(default=list, blank=True)
    emailed_version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["practice", "engagement", "shared_at"])]

    def __str__(self) -> str:
        return f"Recap of {self.session}"

    @property
    def is_shared(self) -> bool:
        return self.shared_at is not None

    @property
    def has_unshared_changes(self) -> bool:
        return self.body.strip() != self.shared_body.strip()

    def channel_labels(self) -> list[str]:
        return [RecapChannel(name).label for name in self.channels if name in RecapChannel]


class CommitmentOwner(models.TextChoices):
    CLIENT = "client", "Client"
    COACH = "coach", "Coach"


class CommitmentStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"


class Commitment(PracticeScoped):
    """An action item agreed in a session: who does it, by when, and whether it was done.
    Missed (due date passed in the practice's zone, still open) is flagged once."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="commitments")
    engagement = models.ForeignKey(
        "engagements.Engagement", on_delete=models.CASCADE, related_name="commitments"
    )
    session = models.ForeignKey(
        "sessions_app.Session",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="commitments",
        help_text="The session it was agreed in.",
    )
    client = models.ForeignKey(
        "engagements.Client",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="commitments",
        help_text="Whose engagement; empty for a team's.",
    )
    text = models.CharField(max_length=300)
    owner = models.CharField(
        max_length=8, choices=CommitmentOwner.choices, default=CommitmentOwner.CLIENT
    )
    due_on = models.DateField()
    status = models.CharField(
        max_length=8, choices=CommitmentStatus.choices, default=CommitmentStatus.OPEN
    )
    done_at = models.DateTimeField(null=True, blank=True)
    missed_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was flagged missed (its due date had passed)."
    )
    reminded_at = models.DateTimeField(
        null=True, blank=True, help_text="When the client was reminded of it (once)."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_on", "pk"]
        indexes = [
            models.Index(fields=["practice", "status", "due_on"]),
            models.Index(fields=["engagement", "status"]),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def is_missed(self) -> bool:
        return self.status == CommitmentStatus.OPEN and self.missed_at is not None

    @property
    def is_open(self) -> bool:
        return self.status == CommitmentStatus.OPEN
