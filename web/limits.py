"""Rate limits on what a visitor can POST without signing in: the booking form, the signed
manage and session pages, buy links, invitation pages, the portal's sign-in link request
(shared by the public pages and the portal, so it sits beside them in `web`).

Counted in Django's cache (Redis with REDIS_URL, so every web process shares the counts)
by django-ratelimit, per address and per practice. Two budgets:

- every POST (`PUBLIC_POST_RATE_PER_ADDRESS`, `PUBLIC_POST_RATE_PER_PRACTICE`), against
  floods;
- every POST that would change something — a booking, a purchase, a reschedule, a
  cancellation, an invitation accepted (`PUBLIC_CHANGE_RATE_PER_ADDRESS`,
  `PUBLIC_CHANGE_RATE_PER_PRACTICE`, per hour by default), so nothing a visitor sends can
  create unbounded clients, engagements or e-mails.

The address is counted first, and a request its address's limit refuses uses nothing of
its practice's budget: one address cannot lock a practice out, and a practice's flood
never touches another practice. Webhook receivers are not limited here (Stripe retries
what is refused and must never be throttled); sign-in and sign-up are allauth's own
limits (ACCOUNT_RATE_LIMITS).
"""

from __future__ import annotations

from allauth.account.adapter import get_adapter
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django_ratelimit.core import get_usage

ADDRESS_MESSAGE = "Too many requests from your address. Please wait a few minutes and try again."
PRACTICE_MESSAGE = (
    "This practice's pages are receiving too many requests right now. "
    "Please try again in a few minutes."
)


def client_address(request: HttpRequest) -> str:
    """The visitor's address as allauth's sign-in limit sees it (RATELIMIT_IP_META_KEY), so
    one setting, ALLAUTH_TRUSTED_PROXY_COUNT, tells both where it comes from behind a proxy."""
    return get_adapter(request).get_client_ip(request)


def _practice_key(practice_id: int):
    return lambda group, request: f"practice:{practice_id}"


def _refusal(request: HttpRequest, *, message: str, retry_after: int) -> HttpResponse:
    if "application/json" in request.headers.get("Accept", "") or (
        request.content_type == "application/json"
    ):
        response = JsonResponse({"error": message}, status=429)
    else:
        response = render(
            request,
            "429.html",
            {"message": message, "practice": getattr(request, "practice", None)},
            status=429,
        )
    response["Retry-After"] = str(max(retry_after, 1))
    return response


def _over(request: HttpRequest, *, group: str, practice_id: int, rates) -> HttpResponse | None:
    """Count this request against the address, then (if still allowed) the practice."""
    address_rate, practice_rate = rates
    usage = get_usage(request, group=group, key="ip", rate=address_rate, increment=True)
    if usage and usage["should_limit"]:
        return _refusal(request, message=ADDRESS_MESSAGE, retry_after=usage["time_left"])
    usage = get_usage(
        request, group=group, key=_practice_key(practice_id), rate=practice_rate, increment=True
    )
    if usage and usage["should_limit"]:
        return _refusal(request, message=PRACTICE_MESSAGE, retry_after=usage["time_left"])
    return None


def post_refused(request: HttpRequest, *, practice_id: int) -> HttpResponse | None:
    """The 429 for a POST over its flood limits, or None; GETs are never counted.

    `practice_id` is the practice the page belongs to, from its URL or its signed token.
    """
    if request.method != "POST":
        return None
    return _over(
        request,
        group="public-post",
        practice_id=practice_id,
        rates=(settings.PUBLIC_POST_RATE_PER_ADDRESS, settings.PUBLIC_POST_RATE_PER_PRACTICE),
    )


def change_refused(request: HttpRequest, *, practice_id: int) -> HttpResponse | None:
    """The 429 for a change (booking, purchase, reschedule, cancel) over its hourly budget."""
    return _over(
        request,
        group="public-change",
        practice_id=practice_id,
        rates=(settings.PUBLIC_CHANGE_RATE_PER_ADDRESS, settings.PUBLIC_CHANGE_RATE_PER_PRACTICE),
    )
