"""Session pages: the stable session URL a coach pastes into a calendar invite."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from coachhub.tenancy import member_required
from engagements.selectors import seat_allowance

from .selectors import session_get_for_member


@member_required
def session_detail(request: HttpRequest, session_uuid) -> HttpResponse:
    session = session_get_for_member(request.membership, session_uuid)
    allowance = None
    if session.seat_id:
        allowance = seat_allowance(session.seat, at=session.starts_at or timezone.now())
    return render(
        request, "sessions_app/session_detail.html", {"session": session, "allowance": allowance}
    )
