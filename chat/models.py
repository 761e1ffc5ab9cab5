"""What CoachHub keeps about a practice's Slack workspace; tokens encrypted at rest."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from coachhub.encryption import EncryptedTextField, mask
from coachhub.models import Practice, PracticeScoped
from engagements.models import Client, Collection


class ConnectionMethod(models.TextChoices):
    OAUTH = "oauth", "Installed with “Add to Slack”"
    PASTED = "pasted", "Bot token of the practice's own Slack app"


class ConnectionStatus(models.TextChoices):
    CONNECTED = "connected", "Connected"
    BROKEN = "broken", "Broken"


class SlackConnection(PracticeScoped):
    """A practice's Slack workspace and the bot token CoachHub acts with."""

    practice = models.OneToOneField(
        Practice, on_delete=models.CASCADE, related_name="slack_connection"
    )
    method = models.CharField(max_length=8, choices=ConnectionMethod.choices)
    status = models.CharField(
        max_length=10, choices=ConnectionStatus.choices, default=ConnectionStatus.CONNECTED
    )
    broken_reason = models.TextField(blank=True, help_text="What happened and what to do.")
    broken_at = models.DateTimeField(null=True, blank=True)
    team_id = models.CharField(max_length=32, db_index=True)
    team_name = models.CharField(max_length=255, blank=True)
    team_url = models.URLField(blank=True)
    app_id = models.CharField(max_length=32, blank=True)
    bot_user_id = models.CharField(max_length=32, blank=True)
    bot_id = models.CharField(max_length=32, blank=True)
    scopes = models.TextField(blank=True)
    bot_token = EncryptedTextField()
    # Only for a pasted token: the practice's own app signs its events with its own secret.
    signing_secret = EncryptedTextField(blank=True)
    installed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What the workspace's plan allows, as the coach says: Slack Connect (paid plans)
    # invites by e-mail; otherwise the workspace's invite link is e-mailed.
    slack_connect_allowed = models.BooleanField(default=False)
    # What CoachHub posts in the channels between sessions; the practice turns either off.
    post_reminders = models.BooleanField(
        default=True, help_text="Post a reminder in the channel before each session."
    )
    post_session_links = models.BooleanField(
        default=True, help_text="Post the session's time and link when a session is scheduled."
    )
    invite_link = models.URLField(blank=True, max_length=500)
    # When the token was last installed or pasted: an uninstall Slack sent before it is
    # about the previous install, not this one.
    connected_at = models.DateTimeField(null=True, blank=True)
    # When a verified request from Slack last arrived (kept to the minute): none at all
    # means the Request URL or the signing secret is wrong.
    events_last_received_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Slack {self.team_name or self.team_id} for {self.practice}"

    @property
    def bot_token_masked(self) -> str:
        return mask(self.bot_token)

    @property
    def signing_secret_masked(self) -> str:
        return mask(self.signing_secret)

    @property
    def ready(self) -> bool:
        return self.status == ConnectionStatus.CONNECTED and bool(self.bot_token)


class SlackOAuthState(PracticeScoped):
    """One "Add to Slack" attempt: the `state` Slack hands back, used once, soon expired."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    consumed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Slack install by {self.user} for {self.practice}"


class ChannelStatus(models.TextChoices):
    PENDING = "pending", "Being created"
    CREATED = "created", "Created"
    FAILED = "failed", "Failed"


class SlackChannel(PracticeScoped):
    """The private channel of one collection (a 1:1 client's, a team's, a package's)."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    collection = models.OneToOneField(
        Collection, on_delete=models.CASCADE, related_name="slack_channel"
    )
    status = models.CharField(
        max_length=10, choices=ChannelStatus.choices, default=ChannelStatus.PENDING
    )
    channel_id = models.CharField(max_length=32, blank=True)
    # The workspace the channel was made in: after a reconnect to another one it is gone.
    team_id = models.CharField(max_length=32, blank=True)
    name = models.CharField(max_length=80, blank=True)
    error = models.TextField(blank=True, help_text="What went wrong and what to do.")
    attempts = models.PositiveSmallIntegerField(default=0)
    # The coach's own place in the channel: added, or why not (not in the workspace…).
    coach_added = models.BooleanField(default=False)
    coach_note = models.TextField(blank=True, help_text="Why the coach is not in the channel.")
    # One task at a time works on a channel and its invites: it claims the row until then.
    claimed_until = models.DateTimeField(null=True, blank=True)
    # When the next run is due (work queued now, or a retry's countdown, never sooner than
    # Slack's Retry-After); empty once nothing is left. The recovery sweep reads it.
    retry_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["retry_at"], name="slack_channel_due")]

    def __str__(self) -> str:
        return f"#{self.name or '…'} for {self.collection}"


class InvitePath(models.TextChoices):
    MEMBER = "member", "Added to the channel (already in the workspace)"
    SLACK_CONNECT = "slack_connect", "Invited by Slack Connect"
    INVITE_LINK = "invite_link", "Sent the workspace invite link"


class InviteStatus(models.TextChoices):
    PENDING = "pending", "Being invited"
    WAITING = "waiting", "Waiting for them to join"
    DONE = "done", "In the channel"
    FAILED = "failed", "Failed"


class SlackInvite(PracticeScoped):
    """One person's way into a collection's channel, and the path that got them there."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(SlackChannel, on_delete=models.CASCADE, related_name="invites")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="slack_invites")
    email = models.EmailField()
    status = models.CharField(
        max_length=10, choices=InviteStatus.choices, default=InviteStatus.PENDING
    )
    path = models.CharField(max_length=16, choices=InvitePath.choices, blank=True)
    slack_user_id = models.CharField(max_length=32, blank=True)
    shared_invite_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True, help_text="What went wrong and what to do.")
    attempts = models.PositiveSmallIntegerField(default=0)
    emailed_at = models.DateTimeField(null=True, blank=True, help_text="Invite link e-mailed.")
    joined_at = models.DateTimeField(null=True, blank=True, help_text="Joined the workspace.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "client"], name="one_slack_invite_per_person"
            )
        ]
        indexes = [models.Index(fields=["practice", "email"], name="slack_invite_email")]

    def __str__(self) -> str:
        return f"{self.email} → {self.channel}: {self.get_status_display()}"


class EventStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSING = "processing", "Being processed"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored (not an event CoachHub acts on)"
    FAILED = "failed", "Failed"


class SlackEvent(PracticeScoped):
    """An event Slack sent about a practice's workspace, stored once by Slack's `event_id`."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=64)
    team_id = models.CharField(max_length=32)
    type = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=EventStatus.choices, default=EventStatus.RECEIVED
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Set by the worker that claimed it; a claim older than the task's time limit is dead.
    claimed_at = models.DateTimeField(null=True, blank=True)
    # When the next attempt is due (a retry's countdown); the recovery sweep reads it.
    retry_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "event_id"], name="one_slack_event_per_practice"
            )
        ]
        indexes = [models.Index(fields=["status", "retry_at"], name="slack_event_due")]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class PostStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be posted"
    POSTING = "posting", "Being posted"
    POSTED = "posted", "Posted"
    FAILED = "failed", "Failed"


class SlackPost(PracticeScoped):
    """A message CoachHub posts in a channel; its key makes a retried task post once."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(SlackChannel, on_delete=models.CASCADE, related_name="posts")
    key = models.CharField(max_length=120)
    kind = models.CharField(max_length=40)
    text = models.TextField(blank=True, help_text="What is posted, as Slack's mrkdwn.")
    status = models.CharField(max_length=10, choices=PostStatus.choices, default=PostStatus.PENDING)
    ts = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When a task took the post to send it: a claim older than a task may run has lapsed.
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Past this (a reminder's session has started) the post is stale and is not sent.
    not_after = models.DateTimeField(null=True, blank=True)
    # When a retry is due (never sooner than Slack's Retry-After); the recovery sweep reads it.
    retry_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    posted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "key"], name="one_slack_post_per_key")
        ]
        indexes = [models.Index(fields=["status", "retry_at"], name="slack_post_due")]

    def __str__(self) -> str:
        return f"{self.kind} in {self.channel}: {self.get_status_display()}"
