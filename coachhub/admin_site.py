"""An admin site that applies tenancy: superusers see everything, staff their practices only."""

from __future__ import annotations

from contextlib import nullcontext
from functools import wraps

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes import views as contenttype_views
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path
from django_scopes import scope, scopes_disabled

from .models import Membership, Practice, User


def admin_scope_for(request):
    user = request.user
    if not user.is_active or not user.is_staff:
        return scope(practice=[])
    if user.is_superuser:
        return scopes_disabled()
    return scope(practice=staff_practice_ids(user))


def staff_practice_ids(user: User) -> list[int]:
    return list(Membership.objects.filter(user=user).values_list("practice_id", flat=True))


NOT_STAFF = (
    "{email} is a CoachHub account but not a staff account, so the admin is closed to it. "
    "Ask a platform administrator to tick “Staff status” on it (staff see only their "
    "practices), or make an administrator with `python manage.py createsuperuser`."
)


class StaffLoginForm(AdminAuthenticationForm):
    """Django's admin sign-in, which says why a right password is still refused: the
    account is not staff (Django says only "enter the correct e-mail and password")."""

    def confirm_login_allowed(self, user) -> None:
        if user.is_active and not user.is_staff:
            raise ValidationError(NOT_STAFF.format(email=user.email), code="not_staff")
        super().confirm_login_allowed(user)


class CoachHubAdminSite(admin.AdminSite):
    site_header = "CoachHub administration"
    site_title = "CoachHub admin"
    index_title = "Operate the platform"
    login_form = StaffLoginForm

    def login(self, request, extra_context=None):
        """A member already signed in to the dashboard who opens /admin/ is told why it is
        closed to them, not only "not authorized"."""
        user = request.user
        if user.is_authenticated and not user.is_staff:
            extra_context = {
                **(extra_context or {}),
                "not_staff": NOT_STAFF.format(email=user.email),
            }
        return super().login(request, extra_context)

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def scoped(request, *args, **kwargs):
            context = admin_scope_for(request) if request.user.is_authenticated else nullcontext()
            with context:
                return inner(request, *args, **kwargs)

        return scoped

    def get_urls(self):
        """Swap in a scoped "view on site" redirect: Django's looks the object up through
        the unscoped base manager, which would confirm another practice's object exists."""
        urls = super().get_urls()
        for index, pattern in enumerate(urls):
            if getattr(pattern, "name", None) == "view_on_site":
                urls[index] = path(
                    "r/<int:content_type_id>/<path:object_id>/",
                    self.admin_view(self.view_on_site),
                    name="view_on_site",
                )
        return urls

    def view_on_site(self, request, content_type_id, object_id):
        try:
            model = ContentType.objects.get_for_id(content_type_id).model_class()
            model._default_manager.get(pk=object_id)
        except (ObjectDoesNotExist, ValueError, ValidationError, AttributeError):
            raise Http404("No such object.") from None
        return contenttype_views.shortcut(request, content_type_id, object_id)


admin_site = admin.site


class NotFoundIs404Mixin:
    """An object the viewer cannot see is a 404 on every admin view, never a redirect.

    Django redirects to the index for a missing object and its legacy
    `<object_id>/` URL redirects before looking; both are replaced here.
    """

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404("No such object.")

    def get_urls(self):
        urls = super().get_urls()
        urls[-1] = path(
            "<path:object_id>/",
            self.admin_site.admin_view(self.object_redirect),
            name=f"{self.opts.app_label}_{self.opts.model_name}_object_redirect",
        )
        return urls

    def object_redirect(self, request, object_id):
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404("No such object.")
        return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", object_id)

    def history_view(self, request, object_id, extra_context=None):
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404("No such object.")
        return super().history_view(request, object_id, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404("No such object.")
        return super().delete_view(request, object_id, extra_context)


class PracticeChoicesMixin:
    """Foreign-key choices for staff list only their practices and their members
    (scoped models are already limited by the admin scope)."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            practice_ids = staff_practice_ids(request.user)
            if db_field.remote_field.model is Practice:
                kwargs["queryset"] = Practice.objects.filter(pk__in=practice_ids)
            elif db_field.remote_field.model is User:
                kwargs["queryset"] = User.objects.filter(
                    memberships__practice_id__in=practice_ids
                ).distinct()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class PracticeInlineMixin(PracticeChoicesMixin):
    """Inline rows take their practice from the parent object, so no choice is offered."""

    exclude = ["practice"]


class PracticeAdminMixin(PracticeChoicesMixin, NotFoundIs404Mixin):
    """Row filtering for staff who are not superusers, and 404 (not a redirect) on a miss."""

    practice_field = "practice"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.practice_field}__in": staff_practice_ids(request.user)})

    def save_formset(self, request, form, formset, change):
        for instance in formset.save(commit=False):
            if hasattr(instance, "practice_id") and not instance.practice_id:
                instance.practice_id = form.instance.practice_id
            instance.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()
