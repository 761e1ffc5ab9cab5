"""The session page of an attendee without a booking: a session the coach scheduled, a
package's generated session, a workshop participant's. Reached by the signed link in
invites sent before the client portal (new invites lead to the portal).

The token carries the practice, the session and the attendee, so the view opens that
practice's scope before it reads anything; forged → 404, expired → 410.
"""

from __future__ import annotations

from functools import wraps
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from coachhub.tenancy import practice_scope
from engagements.models import Client
from integrations.calendar import ics
from sessions_app.booking_tokens import TokenExpired, TokenInvalid, read_attendee_token
from sessions_app.models import Booking, BookingStatus, Session, SessionStatus
from sessions_app.notifications import event_data, manage_url, portal_page_url
from sessions_app.services import session_cancel_by_attendee
from web.limits import change_refused, post_refused
from web.public.booking import link_gone


def _attendee_view(view):
    """Resolve the token to (session, client) and run the view in the practice's scope."""

    @wraps(view)
    def wrapped(request: HttpRequest, token: str) -> HttpResponse:
        try:
            practice_id, session_id, client_id = read_attendee_token(token, now=timezone.now())
        except TokenInvalid:
            raise Http404("This link is not valid.") from None
        except TokenExpired:
            return link_gone(request)
        if refused := post_refused(request, practice_id=practice_id):
            return refused
        with practice_scope(practice_id):
            session = (
                Session.objects.select_related("coach", "practice", "engagement", "collection")
                .filter(practice_id=practice_id, public_id=session_id)
                .first()
            )
            client = Client.objects.filter(practice_id=practice_id, pk=client_id).first()
            if session is None or client is None or not _attends(session, client):
                raise Http404("This link is not valid.")
            booking = (
                Booking.objects.filter(
                    session=session, client=client, status=BookingStatus.CONFIRMED
                )
                .select_related("session")
                .first()
            )
            if booking is not None:  # booked after all: the booking's own page
                return redirect(manage_url(booking, now=timezone.now()))
            return view(request, session, client, token)

    return wrapped


def _attends(session: Session, client: Client) -> bool:
    if session.client_id:
        return session.client_id == client.pk
    return bool(
        session.collection_id and session.collection.participants.filter(pk=client.pk).exists()
    )


def _context(session: Session, client: Client, token: str) -> dict:
    zone = ZoneInfo(client.time_zone)
    now = timezone.now()
    return {
        "session": session,
        "client": client,
        "practice": session.practice,
        "token": token,
        "zone": zone,
        "start": session.starts_at.astimezone(zone) if session.starts_at else None,
        "end": session.ends_at.astimezone(zone) if session.ends_at else None,
        "can_cancel": session.client_id == client.pk
        and session.status == SessionStatus.SCHEDULED
        and session.starts_at > now,
        "late_cancel": session.is_late_cancel(at=now),
    }


@require_http_methods(["GET", "POST"])
@_attendee_view
def attendee_session(request: HttpRequest, session: Session, client: Client, token: str):
    """What, when and where; add to calendar; cancel a 1:1 session within the rules."""
    context = _context(session, client, token)
    context["confirm_cancel"] = request.GET.get("cancel") == "1"
    status = 200
    if request.method == "POST":
        if refused := change_refused(request, practice_id=session.practice_id):
            return refused
        try:
            session_cancel_by_attendee(session=session, client_id=client.pk)
        except ValidationError as error:
            context["error"], status = error.messages[0], 400
        else:
            return redirect("attendee_session", token=token)
    return render(request, "sessions_app/public/attendee_session.html", context, status=status)


@require_GET
@_attendee_view
def attendee_invite(request: HttpRequest, session: Session, client: Client, token: str):
    """This attendee's invite as a file ("Add to calendar")."""
    if session.starts_at is None:
        raise Http404("This session has no time yet.")
    link = portal_page_url(session)  # a file kept in calendars: no sign-in token
    data = event_data(
        session,
        attendees=[ics.Person(client.name, client.email)],
        description=f"Your session page: {link}",
        url=link,
    )
    response = HttpResponse(
        ics.invite(data, now=timezone.now()), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="session.ics"'
    return response
