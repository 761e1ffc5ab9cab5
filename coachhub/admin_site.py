"""An admin site that applies tenancy: superusers see everything, staff their practices only."""

from __future__ import annotations

from contextlib import nullcontext
from functools import wraps

from django.contrib import admin
from django.http import Http404
from django_scopes import scope, scopes_disabled


def admin_scope_for(request):
    user = request.user
    if not user.is_active or not user.is_staff:
        return scope(practice=[])
    if user.is_superuser:
        return scopes_disabled()
    return scope(practice=staff_practice_ids(user))


def staff_practice_ids(user) -> list[int]:
    from .models import Membership

    return list(Membership.objects.filter(user=user).values_list("practice_id", flat=True))


class CoachHubAdminSite(admin.AdminSite):
    site_header = "CoachHub administration"
    site_title = "CoachHub admin"
    index_title = "Operate the platform"

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def scoped(request, *args, **kwargs):
            context = admin_scope_for(request) if request.user.is_authenticated else nullcontext()
            with context:
                return inner(request, *args, **kwargs)

        return scoped


admin_site = admin.site


class PracticeAdminMixin:
    """Row filtering for staff who are not superusers, and 404 (not a redirect) on a miss."""

    practice_field = "practice"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.practice_field}__in": staff_practice_ids(request.user)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        from .models import Practice, User

        if not request.user.is_superuser:
            practice_ids = staff_practice_ids(request.user)
            if db_field.remote_field.model is Practice:
                kwargs["queryset"] = Practice.objects.filter(pk__in=practice_ids)
            elif db_field.remote_field.model is User:
                kwargs["queryset"] = User.objects.filter(
                    memberships__practice_id__in=practice_ids
                ).distinct()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404("No such object.")
