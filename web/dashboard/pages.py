"""Small pieces every dashboard page uses: pagination, and a form's errors as messages."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest


def page_of(request: HttpRequest, queryset: QuerySet, per_page: int = 50) -> Page:
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def flash_errors(request: HttpRequest, errors: ValidationError | forms.Form) -> None:
    """Show a small inline form's errors (or a service's refusal) on the page it returns to."""
    if isinstance(errors, ValidationError):
        for message in errors.messages:
            messages.error(request, message)
        return
    for field, field_errors in errors.errors.items():
        label = errors.fields[field].label if field in errors.fields else None
        for message in field_errors:
            messages.error(
                request, f"{label or field}: {message}" if field in errors.fields else message
            )
