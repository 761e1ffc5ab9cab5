"""Slack in the admin: what was connected, made, invited, received and posted — read-only,
since each row is a record of what happened; the Integrations page and the tasks change them."""

from django.contrib import admin

from coachhub.admin_site import PracticeAdminMixin

from .events import event_process_again
from .models import (
    EventStatus,
    SlackChannel,
    SlackConnection,
    SlackEvent,
    SlackInvite,
    SlackPost,
)


class ReadOnlyRecordAdmin(PracticeAdminMixin, admin.ModelAdmin):
    """Rows made by services and tasks: viewed and searched here, never typed in (every
    field is read-only, so the change page shows the record and saves nothing)."""

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(SlackConnection)
class SlackConnectionAdmin(ReadOnlyRecordAdmin):
    """Tokens only by their masked ends; connecting and disconnecting are the owner's
    Integrations page, which checks the token with Slack and revokes it."""

    list_display = [
        "practice",
        "team_name",
        "team_id",
        "method",
        "status",
        "slack_connect_allowed",
        "updated_at",
    ]
    list_filter = ["status", "method", "slack_connect_allowed"]
    search_fields = ["practice__name", "team_name", "team_id", "bot_user_id", "app_id"]
    list_select_related = ["practice"]
    fields = [
        "practice",
        "method",
        "status",
        "broken_reason",
        "broken_at",
        "team_id",
        "team_name",
        "team_url",
        "app_id",
        "bot_user_id",
        "bot_id",
        "scopes",
        "bot_token_masked",
        "signing_secret_masked",
        "installed_by",
        "slack_connect_allowed",
        "invite_link",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # disconnecting revokes the token with Slack: the Integrations page


@admin.register(SlackChannel)
class SlackChannelAdmin(ReadOnlyRecordAdmin):
    list_display = ["name", "channel_id", "collection", "practice", "status", "attempts"]
    list_filter = ["status"]
    search_fields = ["name", "channel_id", "collection__title", "error"]
    list_select_related = ["collection", "practice"]
    readonly_fields = [f.name for f in SlackChannel._meta.fields]


@admin.register(SlackInvite)
class SlackInviteAdmin(ReadOnlyRecordAdmin):
    list_display = ["email", "client", "channel", "status", "path", "attempts", "updated_at"]
    list_filter = ["status", "path"]
    search_fields = ["email", "client__name", "slack_user_id", "shared_invite_id", "error"]
    list_select_related = ["client", "channel__collection", "practice"]
    readonly_fields = [f.name for f in SlackInvite._meta.fields]


@admin.register(SlackEvent)
class SlackEventAdmin(ReadOnlyRecordAdmin):
    """What Slack sent and what became of it; a failed one says why and can run again."""

    list_display = ["type", "event_id", "team_id", "practice", "status", "attempts", "received_at"]
    list_filter = ["status", "type"]
    search_fields = ["event_id", "team_id", "type", "error"]
    list_select_related = ["practice"]
    readonly_fields = [f.name for f in SlackEvent._meta.fields]
    actions = ["process_again"]

    @admin.action(description="Process the selected failed events again")
    def process_again(self, request, queryset):
        events = list(queryset.filter(status=EventStatus.FAILED).select_related("practice"))
        for event in events:
            event_process_again(event=event, actor=request.user)
        self.message_user(request, f"{len(events)} event(s) queued.")


@admin.register(SlackPost)
class SlackPostAdmin(ReadOnlyRecordAdmin):
    list_display = ["kind", "key", "channel", "status", "attempts", "posted_at", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["key", "kind", "ts", "error"]
    list_select_related = ["channel__collection", "practice"]
    readonly_fields = [f.name for f in SlackPost._meta.fields]
