"""The session workspace: private notes never reach assistants (page, admin, API); a recap
is shared explicitly, recorded, e-mailed and posted once per version and shown in the
portal; the next session opens with the last recap and the open commitments."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.utils import timezone
from django_scopes import scopes_disabled

from caring.models import Commitment, Recap, SessionNote
from chat.models import ChannelStatus, ConnectionMethod, SlackChannel, SlackConnection, SlackPost
from devtools.slack_standin import StandIn
from integrations.slack import client as slack_api
from sessions_app import services as session_services

from ..kit.http import login
from ..web.test_portal import links_in, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def standin(settings):
    fake = StandIn()
    server = fake.serve()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.SLACK_API_BASE = fake.base_url
    yield fake
    server.shutdown()


@pytest.fixture
def slack_channel(home, standin):
    """The home practice connected to a stand-in workspace; its client's collection has a
    private channel there."""
    team = standin.team_add(name="Home coaching")
    made = slack_api.private_channel_create(
        token=team.bot_token, base_url=standin.base_url, name="coaching-client"
    )
    with scopes_disabled():
        SlackConnection.objects.create(
            practice=home.practice,
            method=ConnectionMethod.PASTED,
            team_id=team.id,
            team_name=team.name,
            bot_token=team.bot_token,
        )
        return SlackChannel.objects.create(
            practice=home.practice,
            collection=home.objects["collection"],
            status=ChannelStatus.CREATED,
            channel_id=made.id,
            name=made.name,
        )


def _page(browser, session) -> str:
    response = browser.get(session.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def _recap_mails(client):
    return [m for m in mail.outbox if m.to == [client.email] and m.subject.startswith("Recap:")]


# --- Private notes -------------------------------------------------------------------
def test_coaches_keep_private_notes_that_assistants_never_see(home, session, as_member):
    coach = as_member("coach")
    response = coach.post(f"{session.get_absolute_url()}notes/", {"body": "Worried about burnout"})
    assert response.status_code == 302
    assert "Worried about burnout" in _page(coach, session)
    assert "Worried about burnout" in _page(as_member("owner"), session)
    assistant = as_member("assistant")
    page = _page(assistant, session)
    assert "Worried about burnout" not in page and "Private notes" not in page
    refused = assistant.post(f"{session.get_absolute_url()}notes/", {"body": "overwritten"})
    assert refused.status_code == 403
    with scopes_disabled():
        assert SessionNote.objects.get(session=session).body == "Worried about burnout"
    # The API's sessions carry no notes, whoever asks.
    for role in ("assistant", "owner"):
        detail = as_member(role).get(f"/api/v1/sessions/{session.pk}/")
        assert detail.status_code == 200
        assert "Worried about burnout" not in detail.content.decode()


def test_the_admin_never_shows_notes_to_an_assistant(home, session, as_member):
    as_member("coach").post(f"{session.get_absolute_url()}notes/", {"body": "Admin-hidden note"})
    with scopes_disabled():
        note = SessionNote.objects.get(session=session)
    assistant, owner = home.assistant, home.owner
    for user in (assistant, owner):
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        user.user_permissions.set(Permission.objects.filter(content_type__app_label="caring"))
    staff_assistant = login(assistant, home.practice)
    assert staff_assistant.get("/admin/caring/sessionnote/").status_code == 403
    change = staff_assistant.get(f"/admin/caring/sessionnote/{note.pk}/change/")
    assert change.status_code in (403, 404)
    assert "Admin-hidden note" not in change.content.decode()
    assert "sessionnote" not in staff_assistant.get("/admin/").content.decode()
    staff_owner = login(owner, home.practice)
    shown = staff_owner.get(f"/admin/caring/sessionnote/{note.pk}/change/")
    assert shown.status_code == 200 and "Admin-hidden note" in shown.content.decode()


# --- Recaps --------------------------------------------------------------------------
def test_sharing_a_recap_records_it_emails_once_posts_once_and_shows_in_the_portal(
    home, session, as_member, standin, slack_channel, django_capture_on_commit_callbacks
):
    client = home.objects["client"]
    coach = as_member("coach")
    url = f"{session.get_absolute_url()}recap/"
    coach.post(url, {"body": "We mapped your next three months.", "save": "1"})
    assert _recap_mails(client) == []  # a draft reaches nobody
    portal = signed_in(client)
    portal_path = f"/portal/{home.practice.slug}/sessions/{session.public_id}/"
    assert "We mapped your next three months." not in portal.get(portal_path).content.decode()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = coach.post(url, {"body": "We mapped your next three months.", "share": "1"})
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):  # a second click changes nothing
        coach.post(url, {"body": "We mapped your next three months.", "share": "1"})
    with scopes_disabled():
        recap = Recap.objects.get(session=session)
    assert recap.version == 1 and recap.shared_by == home.coach and recap.shared_at
    assert recap.channels == ["email", "portal", "slack"]
    (message,) = _recap_mails(client)
    assert "We mapped your next three months." in message.body
    assert any(link.startswith(portal_path) for link in links_in(message))
    posts = [
        e for e in standin.effects("chat.postMessage") if e["channel"] == slack_channel.channel_id
    ]
    assert len(posts) == 1
    (posted,) = standin.channel(slack_channel.channel_id).messages
    assert "We mapped your next three months." in posted["text"]
    assert "We mapped your next three months." in portal.get(portal_path).content.decode()
    page = _page(coach, session)
    assert "E-mail, Client portal, Slack channel" in page
    # Changed and shared again: a second version, e-mailed and posted once more.
    with django_capture_on_commit_callbacks(execute=True):
        coach.post(url, {"body": "We mapped the next three months; see the plan.", "share": "1"})
    assert len(_recap_mails(client)) == 2
    with scopes_disabled():
        assert SlackPost.objects.filter(practice=home.practice, kind="recap").count() == 2


def test_without_slack_a_recap_is_emailed_and_in_the_portal_only(
    home, session, as_member, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        as_member("coach").post(
            f"{session.get_absolute_url()}recap/", {"body": "Short one.", "share": "1"}
        )
    with scopes_disabled():
        assert Recap.objects.get(session=session).channels == ["email", "portal"]
        assert not SlackPost.objects.filter(practice=home.practice, kind="recap").exists()
    assert len(_recap_mails(home.objects["client"])) == 1


def test_an_empty_recap_is_refused_with_a_message(home, session, as_member):
    coach = as_member("coach")
    response = coach.post(
        f"{session.get_absolute_url()}recap/", {"body": " ", "share": "1"}, follow=True
    )
    assert "Write the recap before sharing it." in response.content.decode()


def test_an_assistant_cannot_write_or_share_a_recap(home, session, as_member):
    response = as_member("assistant").post(
        f"{session.get_absolute_url()}recap/", {"body": "x", "share": "1"}
    )
    assert response.status_code == 403


# --- No blank slate ------------------------------------------------------------------
def _next_session(home, session):
    with scopes_disabled():
        return session_services.session_create(
            practice=home.practice,
            actor=home.owner,
            engagement=session.engagement,
            collection=session.collection,
            starts_at=session.starts_at + dt.timedelta(days=14),
            minutes=55,
            title="Second session",
        )


def test_the_next_session_opens_with_the_last_recap_and_open_commitments(
    home, session, as_member, django_capture_on_commit_callbacks
):
    coach = as_member("coach")
    with django_capture_on_commit_callbacks(execute=True):
        coach.post(
            f"{session.get_absolute_url()}recap/", {"body": "Focus on delegation.", "share": "1"}
        )
        due = (timezone.now() + dt.timedelta(days=7)).date().isoformat()
        coach.post(
            f"{session.get_absolute_url()}commitments/",
            {"text": "Delegate the weekly report", "owner": "client", "due_on": due},
        )
        coach.post(
            f"{session.get_absolute_url()}commitments/",
            {"text": "Send the reading list", "owner": "coach", "due_on": due},
        )
    with scopes_disabled():
        done = Commitment.objects.get(text="Send the reading list")
    coach.post(f"/commitments/{done.pk}/status/", {"done": "1"})
    second = _next_session(home, session)
    page = _page(coach, second)
    assert "Focus on delegation." in page
    assert "Delegate the weekly report" in page
    assert "Send the reading list" not in page  # done: not carried into the next session


def test_a_commitment_without_a_date_is_refused_with_a_message(home, session, as_member):
    response = as_member("coach").post(
        f"{session.get_absolute_url()}commitments/",
        {"text": "Something", "owner": "client", "due_on": "not a date"},
        follow=True,
    )
    assert "Enter a valid date" in response.content.decode()
    with scopes_disabled():
        assert not Commitment.objects.filter(session=session).exists()


def test_the_agenda_starts_from_the_template_and_is_changed_per_session(home, session, as_member):
    coach = as_member("coach")
    assert "Review of commitments since last session" in _page(coach, session)
    coach.post(f"{session.get_absolute_url()}agenda/", {"items": "Promotion case\n\nNext steps"})
    page = _page(coach, session)
    assert "<li>Promotion case</li>" in page and "<li>Next steps</li>" in page
    assert "<li>Review of commitments since last session</li>" not in page
