from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from coachhub.admin_site import PracticeAdminMixin, PracticeInlineMixin

from .models import (
    ChecklistStep,
    Client,
    Collection,
    CollectionParticipant,
    CollectionResource,
    CollectionTemplate,
    Contract,
    Engagement,
    Organization,
    SeatAssignment,
)
from .services import clients_mark_alumni


@admin.register(Client)
class ClientAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["name", "email", "practice", "coach", "status", "organization", "created_at"]
    list_filter = ["status", ("practice", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "email", "phone"]
    list_select_related = ["practice", "coach", "organization"]
    readonly_fields = ["user"]  # the portal links the account when it sends the first link
    actions = ["mark_alumni"]

    @admin.action(description="Mark selected clients as alumni")
    def mark_alumni(self, request, queryset):
        by_practice: dict[int, list[Client]] = {}
        for client in queryset.select_related("practice"):
            by_practice.setdefault(client.practice_id, []).append(client)
        marked = 0
        for clients in by_practice.values():
            try:
                marked += clients_mark_alumni(
                    practice=clients[0].practice, actor=request.user, clients=clients
                )
            except ValidationError as error:
                self.message_user(
                    request, f"{clients[0].practice}: {' '.join(error.messages)}", messages.ERROR
                )
        self.message_user(request, f"{marked} client(s) marked as alumni.")


@admin.register(Organization)
class OrganizationAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["name", "practice", "billing_email", "created_at"]
    search_fields = ["name", "billing_email"]
    list_select_related = ["practice"]


@admin.register(Contract)
class ContractAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = [
        "organization",
        "title",
        "practice",
        "starts_on",
        "ends_on",
        "seats",
        "sessions_per_seat_per_month",
        "price_per_seat_month",
        "first_month_cutoff_day",
        "first_month_credit",
    ]
    list_filter = ["starts_on", "ends_on"]
    search_fields = ["title", "organization__name"]
    list_select_related = ["organization", "practice"]


@admin.register(SeatAssignment)
class SeatAssignmentAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["client", "contract", "practice", "coach_chosen_at", "ended_on"]
    list_filter = ["ended_on"]
    search_fields = ["client__name", "client__email", "contract__organization__name"]
    list_select_related = ["client", "contract__organization", "practice"]


@admin.register(CollectionTemplate)
class CollectionTemplateAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "practice", "is_builtin"]
    list_filter = ["kind", "is_builtin"]
    search_fields = ["name"]
    list_select_related = ["practice"]


class ChecklistStepInline(PracticeInlineMixin, admin.TabularInline):
    model = ChecklistStep
    extra = 0
    fields = ["position", "key", "label", "state", "reason"]
    readonly_fields = ["key"]


@admin.register(Engagement)
class EngagementAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = [
        "title",
        "kind",
        "practice",
        "client",
        "coach",
        "funding",
        "status",
        "starts_on",
    ]
    list_filter = ["kind", "status", "funding"]
    search_fields = ["title", "client__name", "client__email", "core_subject"]
    list_select_related = ["practice", "client", "coach"]
    inlines = [ChecklistStepInline]


@admin.register(ChecklistStep)
class ChecklistStepAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["engagement", "position", "label", "state", "updated_at"]
    list_filter = ["state", "key"]
    search_fields = ["engagement__title", "label", "reason"]
    list_select_related = ["engagement"]


class ParticipantInline(PracticeInlineMixin, admin.TabularInline):
    model = CollectionParticipant
    extra = 0
    raw_id_fields = ["client"]


@admin.register(Collection)
class CollectionAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["title", "kind", "practice", "engagement", "created_at"]
    list_filter = ["kind"]
    search_fields = ["title", "engagement__title"]
    list_select_related = ["practice", "engagement"]
    readonly_fields = ["public_id"]
    inlines = [ParticipantInline]


@admin.register(CollectionParticipant)
class CollectionParticipantAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["client", "collection", "added_at"]
    search_fields = ["client__name", "client__email", "collection__title"]
    list_select_related = ["client", "collection"]


@admin.register(CollectionResource)
class CollectionResourceAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["title", "kind", "collection", "sent_at", "created_at"]
    list_filter = ["kind"]
    search_fields = ["title", "collection__title"]
    list_select_related = ["collection"]
