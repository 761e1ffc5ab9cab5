"""`/calendar/<secret token>.ics`: a coach's or client's private subscription feed."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_scopes import scopes_disabled

from coachhub.tenancy import membership_of, practice_scope
from integrations.calendar import ics
from sessions_app.models import CalendarFeedToken
from sessions_app.notifications import feed_events
from sessions_app.selectors import feed_sessions


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """A private subscription feed; a wrong token is a 404."""
    with scopes_disabled():
        feed_token = (
            CalendarFeedToken.objects.select_related("coach", "client", "practice")
            .filter(token=token)
            .first()
        )
    if feed_token is None:
        raise Http404("No such calendar.")
    if feed_token.coach_id and membership_of(feed_token.practice, feed_token.coach) is None:
        raise Http404("No such calendar.")  # the coach has left this practice
    with practice_scope(feed_token.practice_id):
        sessions = feed_sessions(feed_token, now=timezone.now())
        owner = feed_token.coach.display_name if feed_token.coach else feed_token.client.name
        body = ics.feed(
            f"{feed_token.practice.name} — {owner}",
            feed_events(sessions, client=feed_token.client, now=timezone.now()),
            now=timezone.now(),
        )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response
