"""Caring between sessions in the admin. Private notes are shown only to staff who have
the `clients.notes` ability in the note's practice (assistants never)."""

from django.contrib import admin

from coachhub.admin_site import PracticeAdminMixin, PracticeInlineMixin
from coachhub.models import Membership
from coachhub.permissions import roles_with

from .models import Commitment, PrepAnswer, Recap, SessionAgenda, SessionNote, SessionPrep


class PrepAnswerInline(PracticeInlineMixin, admin.TabularInline):
    model = PrepAnswer
    extra = 0
    fields = ["client", "answers", "answered_at", "updated_at"]
    readonly_fields = ["client", "answers", "answered_at", "updated_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SessionPrep)
class SessionPrepAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["session", "practice", "sent_at", "emailed_at"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["session__title", "practice__name"]
    list_select_related = ["session", "practice"]
    raw_id_fields = ["session"]
    readonly_fields = ["sent_at", "emailed_at", "created_at"]
    inlines = [PrepAnswerInline]


@admin.register(SessionAgenda)
class SessionAgendaAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["session", "practice", "updated_at"]
    search_fields = ["session__title", "practice__name"]
    list_select_related = ["session", "practice"]
    raw_id_fields = ["session"]


def notes_practice_ids(user) -> list[int]:
    """The practices where this staff member may read private notes (none for anyone
    signed out or not staff)."""
    if not user.is_authenticated or not user.is_staff:
        return []
    return list(
        Membership.objects.filter(user=user, role__in=roles_with("clients.notes")).values_list(
            "practice_id", flat=True
        )
    )


@admin.register(SessionNote)
class SessionNoteAdmin(PracticeAdminMixin, admin.ModelAdmin):
    """Staff without the notes ability get no row and no menu entry; a note's address is a
    404 for them, as for another practice's."""

    list_display = ["session", "practice", "updated_by", "updated_at"]
    search_fields = ["session__title", "practice__name"]
    list_select_related = ["session", "practice", "updated_by"]
    raw_id_fields = ["session"]
    readonly_fields = ["updated_by", "updated_at"]

    def _notes_closed(self, request) -> bool:
        return not request.user.is_superuser and not notes_practice_ids(request.user)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(practice_id__in=notes_practice_ids(request.user))

    def has_module_permission(self, request) -> bool:
        if self._notes_closed(request):
            return False
        return super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        if self._notes_closed(request):
            return False
        return super().has_view_permission(request, obj)

    def has_add_permission(self, request) -> bool:
        if self._notes_closed(request):
            return False
        return super().has_add_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        if self._notes_closed(request):
            return False
        return super().has_change_permission(request, obj)


@admin.register(Recap)
class RecapAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["session", "practice", "version", "shared_at", "shared_by", "channels"]
    list_filter = [("shared_at", admin.EmptyFieldListFilter)]
    search_fields = ["session__title", "practice__name", "shared_body"]
    list_select_related = ["session", "practice", "shared_by"]
    raw_id_fields = ["session", "engagement"]
    readonly_fields = [
        "version",
        "shared_body",
        "shared_at",
        "shared_by",
        "channels",
        "emailed_version",
        "updated_at",
    ]


@admin.register(Commitment)
class CommitmentAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["text", "client", "owner", "due_on", "status", "missed_at", "reminded_at"]
    list_filter = ["status", "owner", ("missed_at", admin.EmptyFieldListFilter)]
    search_fields = ["text", "client__name", "client__email", "practice__name"]
    list_select_related = ["client", "practice"]
    raw_id_fields = ["engagement", "session", "client", "created_by"]
    readonly_fields = ["done_at", "missed_at", "reminded_at", "created_at"]
    date_hierarchy = "due_on"
