"""The portal's part in caring between sessions: a session's prep questionnaire (answered
and changed until the session starts), its shared recap, and the client's commitments
(marked done here). Lookups start from the signed-in client, so anyone else's is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from caring import selectors
from caring.services import (
    commitment_done_by_client,
    prep_answers_save,
    prep_open_for_answers,
)
from engagements.models import Client
from sessions_app.models import Session
from sessions_app.portal import client_session_get
from web.limits import change_refused
from web.portal.signin import client_zone, portal_page


def session_caring_context(client: Client, session: Session) -> dict:
    """What the portal's session page adds: the shared recap, the session's commitments,
    and whether there is a prep questionnaire to answer."""
    now = timezone.now()
    return {
        "recap": selectors.client_recap_for(session),
        "session_commitments": [
            c for c in selectors.client_commitments(client) if c.session_id == session.pk
        ],
        "has_prep": bool(selectors.prep_questions_for(session)),
        "prep_open": prep_open_for_answers(session, now=now),
        "prep_answered": selectors.client_prep_answer(session, client) is not None,
    }


def home_caring_context(client: Client) -> dict:
    """What the portal's home adds: the client's commitments and recent recaps."""
    return {
        "commitments": selectors.client_commitments(client),
        "recaps": selectors.client_recaps(client),
    }


def _session_or_404(client: Client, session_uuid) -> Session:
    session = client_session_get(client, session_uuid)
    if session is None:
        raise Http404("No such session.")
    return session


@portal_page
@require_http_methods(["GET", "POST"])
def portal_prep(request: HttpRequest, client: Client, session_uuid) -> HttpResponse:
    """The session's prep questions with the client's answers; saved until it starts."""
    session = _session_or_404(client, session_uuid)
    questions = selectors.prep_questions_for(session)
    answer = selectors.client_prep_answer(session, client)
    if not questions:
        raise Http404("This session has no prep questions.")
    open_now = prep_open_for_answers(session, now=timezone.now())
    answers = list(answer.answers) if answer else []
    status, error = 200, ""
    if request.method == "POST":
        if refused := change_refused(request, practice_id=client.practice_id):
            return refused
        given = [request.POST.get(f"answer_{n}", "") for n in range(len(questions))]
        try:
            prep_answers_save(session=session, client=client, answers=given)
        except ValidationError as error_:
            status, error, answers = 400, " ".join(error_.messages), given
        else:
            messages.success(request, "Thank you: your answers are saved for your coach.")
            return redirect(
                "portal_prep", practice_slug=client.practice.slug, session_uuid=session_uuid
            )
    rows = [
        (number, question, answers[number] if number < len(answers) else "")
        for number, question in enumerate(questions)
    ]
    zone = client_zone(client)
    return render(
        request,
        "portal/prep.html",
        {
            "practice": client.practice,
            "client": client,
            "session": session,
            "zone": zone,
            "start": session.starts_at.astimezone(zone),
            "rows": rows,
            "open_now": open_now,
            "answered": answer is not None,
            "error": error,
        },
        status=status,
    )


@portal_page
@require_POST
def portal_commitment_done(request: HttpRequest, client: Client, commitment_pk: int):
    """The client marks one of their commitments done."""
    commitment = selectors.client_commitment_get(client, commitment_pk)
    if commitment is None:
        raise Http404("No such commitment.")
    if refused := change_refused(request, practice_id=client.practice_id):
        return refused
    try:
        commitment_done_by_client(commitment=commitment, client=client)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Well done — marked done. Your coach will see it.")
    if request.POST.get("back") == "session" and commitment.session_id:
        session = commitment.session
        return redirect(
            "portal_session", practice_slug=client.practice.slug, session_uuid=session.public_id
        )
    return redirect("portal_home", practice_slug=client.practice.slug)
