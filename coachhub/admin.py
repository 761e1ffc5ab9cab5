from allauth.account.admin import EmailAddressAdmin as AllauthEmailAddressAdmin
from allauth.account.models import EmailAddress
from allauth.mfa.admin import AuthenticatorAdmin as AllauthAuthenticatorAdmin
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied

from .admin_site import (
    NotFoundIs404Mixin,
    PracticeAdminMixin,
    PracticeChoicesMixin,
    staff_practice_ids,
)
from .invitations import invitation_revoke
from .models import (
    ApiToken,
    AuditEntry,
    IntegrationCall,
    Invitation,
    Membership,
    Practice,
    User,
)
from .services import api_token_revoke


@admin.register(User)
class UserAdmin(NotFoundIs404Mixin, BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "time_zone", "is_staff", "is_active"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "time_zone"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(
            memberships__practice_id__in=staff_practice_ids(request.user)
        ).distinct()


class MembershipInline(PracticeChoicesMixin, admin.TabularInline):
    """Removing a member is the owner's Members page: it also closes their links and offers."""

    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    can_delete = False
    readonly_fields = ["role"]  # changed on the Members page, which keeps an owner

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "practice")


@admin.register(Practice)
class PracticeAdmin(NotFoundIs404Mixin, admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "currency", "created_at"]
    search_fields = ["name", "slug"]
    list_filter = ["time_zone", "currency"]
    readonly_fields = ["public_id", "created_at"]
    inlines = [MembershipInline]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk__in=staff_practice_ids(request.user))


@admin.register(Membership)
class MembershipAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["user", "practice", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "practice__name"]
    list_select_related = ["user", "practice"]

    def has_delete_permission(self, request, obj=None) -> bool:
        """A deletion here would leave the member's booking links and offers selling; the
        owner's Members page removes them and closes both."""
        return False

    def get_readonly_fields(self, request, obj=None):
        """Roles change on the Members page, which keeps the practice an owner."""
        return ["user", "practice", "role"] if obj is not None else []


@admin.register(ApiToken)
class ApiTokenAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "prefix",
        "user",
        "practice",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "user__email"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
    list_select_related = ["user", "practice"]
    actions = ["revoke"]

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        tokens = list(queryset.filter(revoked_at__isnull=True).select_related("practice"))
        for token in tokens:
            api_token_revoke(token=token, actor=request.user)
        self.message_user(request, f"{len(tokens)} token(s) revoked.")


@admin.register(Invitation)
class InvitationAdmin(PracticeAdminMixin, admin.ModelAdmin):
    """Invitations are made on the Members page (which e-mails them); here they are read
    and, if need be, withdrawn."""

    list_display = ["email", "role", "practice", "invited_by", "expires_at", "accepted_at"]
    list_filter = ["role", "accepted_at", "revoked_at"]
    search_fields = ["email", "practice__name"]
    list_select_related = ["practice", "invited_by"]
    readonly_fields = [f.name for f in Invitation._meta.fields]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke selected invitations")
    def revoke(self, request, queryset):
        pending = list(
            queryset.filter(accepted_at__isnull=True, revoked_at__isnull=True).select_related(
                "practice"
            )
        )
        revoked = 0
        for invitation in pending:
            try:
                invitation_revoke(invitation=invitation, actor=request.user)
            except PermissionDenied as refusal:
                self.message_user(request, str(refusal), level="error")
                return
            revoked += 1
        self.message_user(request, f"{revoked} invitation(s) revoked.")


@admin.register(AuditEntry)
class AuditEntryAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "practice", "actor", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["action", "object_id", "actor__email"]
    list_select_related = ["actor", "practice"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Entries are never edited. With no object yet the answer is "yes", so that a
        # missing (or another practice's) entry is a 404 rather than a telling 403.
        return obj is None and super().has_change_permission(request, obj)


@admin.register(IntegrationCall)
class IntegrationCallAdmin(PracticeAdminMixin, admin.ModelAdmin):
    """The integration call log, read-only: why a post, invite, e-mail or payment did not
    happen; beat prunes it (INTEGRATION_CALLS_KEEP_DAYS)."""

    list_display = [
        "created_at",
        "practice",
        "provider",
        "operation",
        "subject_type",
        "subject_id",
        "engagement_id",
        "recipient",
        "outcome",
        "error_code",
        "attempt",
        "duration_ms",
    ]
    list_filter = ["provider", "outcome", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["operation", "error", "error_code", "recipient"]
    list_select_related = ["practice"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in IntegrationCall._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # A record of what happened is never edited; "yes" without an object keeps a
        # missing (or another practice's) row a 404 rather than a telling 403.
        return obj is None and super().has_change_permission(request, obj)


class MembersOnlyMixin(NotFoundIs404Mixin):
    """Rows that belong to a person, not a practice (allauth's e-mail addresses and
    two-factor keys): staff who are not superusers see those of their practices' members."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(
            user__memberships__practice_id__in=staff_practice_ids(request.user)
        ).distinct()


admin.site.unregister(EmailAddress)
admin.site.unregister(Authenticator)


@admin.register(EmailAddress)
class EmailAddressAdmin(MembersOnlyMixin, AllauthEmailAddressAdmin):
    pass


@admin.register(Authenticator)
class AuthenticatorAdmin(MembersOnlyMixin, AllauthAuthenticatorAdmin):
    pass
