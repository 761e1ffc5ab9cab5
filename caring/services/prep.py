"""Prep questionnaires: sent once per session at the practice's lead time, answered by
each client in the portal until the session starts."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from coachhub.audit import audit_record
from engagements.models import Client
from sessions_app.models import Session, SessionStatus

from ..emails import prep_email_send
from ..models import PrepAnswer, SessionPrep
from ..selectors import prep_questions_for

MAX_ANSWER_LENGTH = 5000


def session_prep_ensure(*, session: Session) -> SessionPrep | None:
    """The session's questionnaire, made with the collection's questions when first needed
    (None when the collection asks none). May run inside the caller's transaction."""
    prep = SessionPrep.objects.filter(session=session).first()
    if prep is not None:
        return prep
    questions = prep_questions_for(session)  # the collection's (each engagement may change them)
    if not questions:
        return None
    with transaction.atomic():
        prep, _ = SessionPrep.objects.get_or_create(
            session=session, defaults={"practice_id": session.practice_id, "questions": questions}
        )
    return prep


def prep_send(*, session: Session, now: dt.datetime) -> bool:
    """Claim the session's prep e-mail and send it after the commit; False when it was
    claimed before (once per session, however often the sweep runs) or asks nothing."""
    with transaction.atomic(durable=True):
        prep = session_prep_ensure(session=session)
        if prep is None:
            return False
        claimed = SessionPrep.objects.filter(pk=prep.pk, sent_at__isnull=True).update(sent_at=now)
        if not claimed:
            return False
        audit_record(
            practice=session.practice, actor=None, action="prep.sent", obj=prep, session=session.pk
        )
        prep_email_send.delay_on_commit(practice_id=session.practice_id, prep_id=prep.pk)
    return True


def prep_open_for_answers(session: Session, *, now: dt.datetime) -> bool:
    return session.status == SessionStatus.SCHEDULED and session.starts_at > now


def prep_answers_save(
    *, session: Session, client: Client, answers: list[str], now: dt.datetime | None = None
) -> PrepAnswer:
    """The client's answers to the session's prep questions; they may change them until
    the session starts."""
    now = now or timezone.now()
    if not prep_open_for_answers(session, now=now):
        raise ValidationError("This session has started or is not scheduled: answers are closed.")
    cleaned = [str(answer or "").strip() for answer in answers]
    if any(len(answer) > MAX_ANSWER_LENGTH for answer in cleaned):
        raise ValidationError(f"Keep each answer under {MAX_ANSWER_LENGTH} characters.")
    if not any(cleaned):
        raise ValidationError("Answer at least one question.")
    with transaction.atomic(durable=True):
        prep = session_prep_ensure(session=session)
        if prep is None:
            raise ValidationError("This session has no prep questions.")
        cleaned = (cleaned + [""] * len(prep.questions))[: len(prep.questions)]
        answer, created = PrepAnswer.objects.update_or_create(
            prep=prep,
            client=client,
            defaults={"practice_id": session.practice_id, "answers": cleaned},
        )
        audit_record(
            practice=session.practice,
            actor=client.user,
            action="prep.answered" if created else "prep.answers_changed",
            obj=answer,
            client=client.pk,
        )
    return answer
