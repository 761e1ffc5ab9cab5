"""The demo shows caring between sessions: a session with prep answered, an agenda, notes,
a shared recap and two commitments (one done, one missed)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from caring.models import Commitment, PrepAnswer, Recap, SessionAgenda, SessionNote
from coachhub.models import Practice, User

from ..kit.http import login

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_session_prepared_recapped_and_followed_up():
    call_command("demo", stdout=StringIO())
    with scopes_disabled():
        practice = Practice.objects.get(slug="demo-coaching")
        recap = Recap.objects.select_related("session").get(practice=practice)
        last = recap.session
        assert SessionAgenda.objects.filter(session=last).exists()
        assert SessionNote.objects.filter(session=last).exists()
        states = {(c.status, c.is_missed) for c in Commitment.objects.filter(session=last)}
        assert states == {("done", False), ("open", True)}
        answer = PrepAnswer.objects.select_related("prep__session").get(prep__practice=practice)
        upcoming = answer.prep.session
        jonas = last.client
    coach = login(User.objects.get(email="coach@demo.coachhub.test"), practice)
    page = coach.get(upcoming.get_absolute_url()).content.decode()
    assert "the platform migration" in page  # the last recap opens the next session
    assert "Write two people-leadership examples" in page
    assert "Rehearse the people-leadership answers." in page
    client_page = coach.get(f"/clients/{jonas.pk}/").content.decode()
    assert "Missed commitments" in client_page
