from django.contrib import admin

from coachhub.admin_site import PracticeAdminMixin

from .models import (
    Booking,
    BookingLink,
    BusyInterval,
    CalendarFeedToken,
    CreditEntry,
    DateOverride,
    ExternalCalendar,
    ReminderSent,
    Session,
    WeeklyHours,
)
from .services import external_calendar_refresh


@admin.register(Session)
class SessionAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = [
        "title",
        "practice",
        "coach",
        "client",
        "starts_at",
        "status",
        "source",
        "consumes",
    ]
    list_filter = ["status", "source", "consumes"]
    search_fields = ["title", "client__name", "client__email", "coach__email"]
    list_select_related = ["practice", "coach", "client"]
    date_hierarchy = "starts_at"
    readonly_fields = ["public_id", "created_at"]
    raw_id_fields = ["engagement", "collection", "client", "seat"]


@admin.register(WeeklyHours)
class WeeklyHoursAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["coach", "practice", "weekday", "starts", "ends"]
    list_filter = ["weekday"]
    search_fields = ["coach__email"]
    list_select_related = ["coach", "practice"]


@admin.register(DateOverride)
class DateOverrideAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["coach", "practice", "date", "starts", "ends"]
    search_fields = ["coach__email"]
    list_select_related = ["coach", "practice"]
    date_hierarchy = "date"


@admin.register(BookingLink)
class BookingLinkAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = [
        "title",
        "practice",
        "coach",
        "slug",
        "duration_minutes",
        "capacity",
        "is_active",
    ]
    list_filter = ["is_active", "requires_payment"]
    search_fields = ["title", "slug", "coach__email"]
    list_select_related = ["coach", "practice"]
    raw_id_fields = ["engagement"]


@admin.register(Booking)
class BookingAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["client", "session", "practice", "status", "reschedule_count", "created_at"]
    list_filter = ["status"]
    search_fields = ["client__email", "client__name"]
    list_select_related = ["client", "session", "practice"]
    raw_id_fields = ["session", "client"]
    readonly_fields = ["public_id", "created_at"]


@admin.register(CalendarFeedToken)
class CalendarFeedTokenAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "practice", "created_at"]
    list_select_related = ["coach", "client", "practice"]
    raw_id_fields = ["client"]
    readonly_fields = ["token"]


@admin.register(ReminderSent)
class ReminderSentAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["session", "lead_minutes", "starts_at", "sent_at"]
    list_select_related = ["session"]
    raw_id_fields = ["session"]


@admin.register(CreditEntry)
class CreditEntryAdmin(PracticeAdminMixin, admin.ModelAdmin):
    """Append-only: entries are viewed here, never edited or deleted."""

    list_display = ["created_at", "client", "engagement", "kind", "amount", "effect_key"]
    list_filter = ["kind"]
    search_fields = ["client__email", "effect_key"]
    list_select_related = ["client", "engagement"]

    def has_change_permission(self, request, obj=None):
        # No entry can be changed. With no object (a missing or another practice's
        # id) Django checks this *before* looking; answering "no" there would be a
        # 403 that tells the id exists elsewhere, so the lookup's 404 decides.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(ExternalCalendar)
class ExternalCalendarAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["name", "coach", "practice", "busy_count", "last_success_at", "last_error"]
    search_fields = ["name", "coach__email"]
    list_select_related = ["coach", "practice"]
    readonly_fields = ["etag", "content_hash", "last_fetched_at", "last_success_at", "busy_count"]
    actions = ["refresh"]

    @admin.action(description="Re-read the selected calendars now")
    def refresh(self, request, queryset):
        outcomes = [external_calendar_refresh(calendar=calendar) for calendar in queryset]
        self.message_user(request, f"Outcomes: {', '.join(outcomes) or 'none'}")


@admin.register(BusyInterval)
class BusyIntervalAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["calendar", "coach", "starts_at", "ends_at"]
    list_select_related = ["calendar", "coach"]
    date_hierarchy = "starts_at"
