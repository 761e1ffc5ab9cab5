from django.contrib import admin

from coachhub.admin_site import PracticeAdminMixin

from .events import event_process_again
from .models import EventStatus, SlackEvent


@admin.register(SlackEvent)
class SlackEventAdmin(PracticeAdminMixin, admin.ModelAdmin):
    """What Slack sent and what became of it; a failed one says why and can run again."""

    list_display = ["type", "event_id", "team_id", "practice", "status", "attempts", "received_at"]
    list_filter = ["status", "type"]
    search_fields = ["event_id", "type", "team_id", "error"]
    list_select_related = ["practice"]
    readonly_fields = [
        "practice",
        "event_id",
        "team_id",
        "type",
        "payload",
        "status",
        "error",
        "attempts",
        "claimed_at",
        "retry_at",
        "received_at",
        "processed_at",
    ]
    actions = ["process_again"]

    def has_add_permission(self, request):
        return False  # only Slack's deliveries make these

    @admin.action(description="Process the selected failed events again")
    def process_again(self, request, queryset):
        events = list(queryset.filter(status=EventStatus.FAILED).select_related("practice"))
        for event in events:
            event_process_again(event=event, actor=request.user)
        self.message_user(request, f"{len(events)} event(s) queued.")
