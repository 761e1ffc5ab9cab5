from django.contrib import admin

from coachhub.admin_site import PracticeAdminMixin

from .models import (
    Booking,
    BookingLink,
    CalendarFeedToken,
    DateOverride,
    ReminderSent,
    Session,
    WeeklyHours,
)


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
