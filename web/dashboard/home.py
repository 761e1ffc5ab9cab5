"""The dashboard itself and the practice's own pages: metrics, set-up, API tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing.metrics import revenue_by_month, revenue_metrics, seat_utilisation
from billing.selectors import purchases_needing_attention
from coachhub.audit import model_update
from coachhub.models import ApiToken
from coachhub.money import from_minor, money_shown
from coachhub.services import api_token_create, api_token_revoke
from coachhub.tenancy import (
    SESSION_KEY,
    member_required,
    owner_required,
    password_session_required,
    set_active_practice,
)
from engagements.models import EngagementStatus
from engagements.selectors import engagement_list
from engagements.services import practice_set_up
from sessions_app.allowances import seat_usage_this_month
from sessions_app.selectors import sessions_by_month, upcoming_sessions
from sessions_app.services import coach_time_zone_set
from web.dashboard.charts import BarChart, ChartPoint, bar_chart
from web.dashboard.practice_forms import (
    MyAccountForm,
    PracticeCreateForm,
    PracticeSettingsForm,
)
from web.forms import apply_validation_error


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "home.html")


@member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    membership = request.membership
    setup_in_progress = engagement_list(membership, status=EngagementStatus.ACTIVE).filter(
        open_steps__gt=0
    )
    return render(
        request,
        "dashboard.html",
        {
            "upcoming": upcoming_sessions(membership, now=now, limit=10),
            "setup_in_progress": list(setup_in_progress[:10]),
            "seat_usage": seat_usage_this_month(membership, at=now),
            "payment_problems": list(purchases_needing_attention(membership)[:10]),
            "revenue_chart": _revenue_chart(revenue_by_month(membership, now=now)),
            "sessions_chart": _sessions_chart(sessions_by_month(membership, now=now)),
            "now": now,
        },
    )


def _revenue_chart(revenue) -> BarChart:
    return bar_chart(
        f"Revenue by month ({revenue.currency})",
        [
            ChartPoint(
                month.month.strftime("%b"),
                month.amount,
                money_shown(month.amount, revenue.currency),
            )
            for month in revenue.months
        ],
        axis_format=lambda minor: f"{from_minor(int(minor), revenue.currency):,.0f}",
    )


def _sessions_chart(sessions) -> BarChart:
    return bar_chart(
        "Sessions per month",
        [
            ChartPoint(month.month.strftime("%b"), month.total, f"{month.total} sessions")
            for month in sessions
        ],
        whole=True,
    )


@member_required
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Revenue, order value, offer mix, renewals, sessions and seat use (docs/product.md §3)."""
    now = timezone.now()
    membership = request.membership
    revenue = revenue_metrics(membership, now=now)
    sessions = sessions_by_month(membership, now=now)
    return render(
        request,
        "coachhub/metrics.html",
        {
            "revenue": revenue,
            "revenue_chart": _revenue_chart(revenue.by_month),
            "sessions": sessions,
            "sessions_chart": _sessions_chart(sessions),
            "utilisation": seat_utilisation(membership, now=now),
        },
    )


@login_required
@password_session_required
@require_http_methods(["GET", "POST"])
def practice_create_view(request: HttpRequest) -> HttpResponse:
    form = PracticeCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            practice = practice_set_up(
                owner=request.user,
                name=form.cleaned_data["name"],
                time_zone=form.cleaned_data["time_zone"],
                currency=form.cleaned_data["currency"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            request.session[SESSION_KEY] = practice.pk
            messages.success(request, f"{practice.name} is ready.")
            return redirect("dashboard")
    return render(request, "coachhub/practice_create.html", {"form": form})


@login_required
@password_session_required
@require_POST
def practice_switch(request: HttpRequest) -> HttpResponse:
    try:
        practice_id = int(request.POST.get("practice", ""))
    except ValueError:
        messages.error(request, "Choose a practice.")
        return redirect("dashboard")
    membership = set_active_practice(request, practice_id)
    messages.success(request, f"Switched to {membership.practice.name}.")
    return redirect("dashboard")


@owner_required
@require_http_methods(["GET", "POST"])
def practice_settings(request: HttpRequest) -> HttpResponse:
    practice = request.practice
    fields = list(PracticeSettingsForm.base_fields)
    form = PracticeSettingsForm(
        request.POST or None, initial={name: getattr(practice, name) for name in fields}
    )
    if request.method == "POST" and form.is_valid():
        try:
            model_update(
                instance=practice,
                data=form.cleaned_data,
                fields=fields,
                actor=request.user,
                action="practice.settings",
                practice=practice,
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Practice settings saved.")
            return redirect("practice_settings")
    return render(
        request,
        "coachhub/practice_settings.html",
        {"form": form},
    )


@member_required
@require_http_methods(["GET", "POST"])
def my_account(request: HttpRequest) -> HttpResponse:
    """The member's own zone: the one their pages show, their forms read and their hours use."""
    form = MyAccountForm(request.POST or None, initial={"time_zone": request.user.time_zone})
    if request.method == "POST" and form.is_valid():
        zone = form.cleaned_data["time_zone"]
        try:
            coach_time_zone_set(practice=request.practice, actor=request.user, time_zone=zone)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"Times are now shown in {zone}.")
            return redirect("my_account")
    return render(request, "coachhub/my_account.html", {"form": form})


@member_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """Each member manages their own tokens for the active practice."""
    new_key = None
    if request.method == "POST":
        if "revoke" in request.POST:
            token = ApiToken.objects.filter(
                practice=request.practice,
                user=request.user,
                pk=request.POST.get("revoke") or 0,
                revoked_at__isnull=True,
            ).first()
            if token:
                api_token_revoke(token=token, actor=request.user)
                messages.success(request, "Token revoked.")
            return redirect("api_tokens")
        name = (request.POST.get("name") or "").strip()[:80] or "API token"
        _, new_key = api_token_create(practice=request.practice, user=request.user, name=name)
    tokens = ApiToken.objects.filter(practice=request.practice, user=request.user)
    return render(request, "coachhub/api_tokens.html", {"tokens": tokens, "new_key": new_key})
