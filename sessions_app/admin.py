from django.contrib import admin

from coachhub.admin_site import PracticeAdminMixin

from .models import Session


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
