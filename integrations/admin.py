from django.contrib import admin

from coachhub.admin_site import PracticeAdminMixin

from .models import BusyInterval, ExternalCalendar


@admin.register(ExternalCalendar)
class ExternalCalendarAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["name", "coach", "practice", "busy_count", "last_success_at", "last_error"]
    search_fields = ["name", "coach__email"]
    list_select_related = ["coach", "practice"]
    readonly_fields = ["etag", "content_hash", "last_fetched_at", "last_success_at", "busy_count"]
    actions = ["refresh"]

    @admin.action(description="Re-read the selected calendars now")
    def refresh(self, request, queryset):
        from integrations.calendar.services import external_calendar_refresh

        outcomes = [external_calendar_refresh(calendar=calendar) for calendar in queryset]
        self.message_user(request, f"Outcomes: {', '.join(outcomes) or 'none'}")


@admin.register(BusyInterval)
class BusyIntervalAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["calendar", "coach", "starts_at", "ends_at"]
    list_select_related = ["calendar", "coach"]
    date_hierarchy = "starts_at"
