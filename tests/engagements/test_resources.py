"""Follow-up resources are really sent: from the collection page, by e-mail, to the client
or every participant, recorded (`sent_at`, the audit) and ticking the follow-up step;
sending again is an explicit Resend. And no step or page promises what does not exist."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone
from django_scopes import scopes_disabled

from coachhub.models import AuditEntry
from engagements.emails import resource_email_send
from engagements.models import CollectionResource, StepState
from engagements.participants import Participant
from engagements.services import participants_add

pytestmark = pytest.mark.django_db


def add_resource(collection, **fields) -> CollectionResource:
    with scopes_disabled():
        return CollectionResource.objects.create(
            practice_id=collection.practice_id,
            collection=collection,
            title=fields.get("title", "Action plan"),
            kind=fields.get("kind", "action_plan"),
            url=fields.get("url", "https://example.org/plan.pdf"),
            body=fields.get("body", "Three things to try before we meet again."),
        )


def workshop_collection(world):
    with scopes_disabled():
        return world.home.objects["workshop"].collection


def follow_up_state(engagement) -> str:
    with scopes_disabled():
        return engagement.steps.get(key="follow_up").state


def send(browser, collection, resource, audience, **extra):
    return browser.post(
        f"/collections/{collection.pk}/resources/send/",
        {"resource": resource.pk, "audience": audience, **extra},
    )


def test_a_workshop_handout_is_emailed_to_every_participant_and_ticks_the_step(
    world, as_member, django_capture_on_commit_callbacks
):
    collection = workshop_collection(world)
    engagement = world.home.objects["workshop"]
    owner = as_member("owner")
    owner.post(
        f"/collections/{collection.pk}/participants/", {"participants_text": "Dee <dee@acme.test>"}
    )
    resource = add_resource(collection)
    page = owner.get(collection.get_absolute_url()).content.decode()
    assert "not sent yet" in page and "Every participant (2)" in page
    assert follow_up_state(engagement) == StepState.PENDING
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = send(owner, collection, resource, "participants")
    assert response.status_code == 302
    assert sorted(message.to[0] for message in mail.outbox) == ["dee@acme.test", "p-home@ex.org"]
    assert all(len(message.to) == 1 for message in mail.outbox)  # nobody sees the others
    message = mail.outbox[0]
    assert "Action plan" in message.subject
    assert "https://example.org/plan.pdf" in message.body
    assert "Three things to try" in message.body
    with scopes_disabled():
        resource.refresh_from_db()
        entry = AuditEntry.objects.get(action="collection.resource_send", object_id=resource.pk)
    assert resource.sent_at is not None and resource.sent_at <= timezone.now()
    assert entry.actor == world.home.owner and entry.data["recipients"] == "2"
    assert follow_up_state(engagement) == StepState.DONE
    page = owner.get(collection.get_absolute_url()).content.decode()
    assert "not sent yet" not in page and "Resend" in page


def test_sending_twice_needs_resend(world, as_member, django_capture_on_commit_callbacks):
    collection = workshop_collection(world)
    owner = as_member("owner")
    resource = add_resource(collection)
    with django_capture_on_commit_callbacks(execute=True):
        send(owner, collection, resource, "participants")
    with scopes_disabled():
        resource.refresh_from_db()
    first_sent = resource.sent_at
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        refused = send(owner, collection, resource, "participants")
    followed = owner.get(refused["Location"]).content.decode()
    assert mail.outbox == []
    assert "choose Resend to send it again" in followed
    with django_capture_on_commit_callbacks(execute=True):
        send(owner, collection, resource, "participants", resend="1")
    assert [message.to for message in mail.outbox] == [["p-home@ex.org"]]
    with scopes_disabled():
        resource.refresh_from_db()
        assert AuditEntry.objects.filter(action="collection.resource_resend").count() == 1
    assert resource.sent_at > first_sent


def test_a_one_to_one_resource_goes_to_the_client(
    world, as_member, django_capture_on_commit_callbacks
):
    collection = world.home.objects["collection"]
    client = world.home.objects["client"]
    coach = as_member("coach")
    resource = add_resource(collection, kind="handout", title="Reading list", url="", body="Ch. 3")
    page = coach.get(collection.get_absolute_url()).content.decode()
    assert f"{client.name} (the client)" in page
    assert "Every participant" not in page  # the client is the only participant
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        send(coach, collection, resource, "client")
    assert [message.to for message in mail.outbox] == [[client.email]]
    assert "Ch. 3" in mail.outbox[0].body
    assert mail.outbox[0].reply_to == [world.home.coach.email]
    # The client's way back to their sessions: their portal, signed in by the link.
    assert f"/portal/{world.home.practice.slug}/?sesame=" in mail.outbox[0].body


def test_a_read_only_member_or_another_practice_cannot_send(
    world, as_member, django_capture_on_commit_callbacks
):
    collection = workshop_collection(world)
    resource = add_resource(collection)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert send(as_member("assistant"), collection, resource, "participants").status_code in (
            403,
            404,
        )
        other = world.other.objects["workshop"]
        with scopes_disabled():
            other_resource = add_resource(other.collection)
        # Another practice's resource through this practice's collection: not found.
        assert send(as_member("owner"), collection, other_resource, "participants").status_code == (
            404
        )
    assert mail.outbox == []


def test_nothing_is_recorded_as_sent_when_the_mail_server_refuses(world):
    collection = workshop_collection(world)
    resource = add_resource(collection)
    participant = world.home.objects["workshop"]
    with scopes_disabled():
        client_ids = list(participant.collection.participants.values_list("pk", flat=True))
    broken = mock.Mock()
    broken.send_messages.side_effect = ConnectionRefusedError("no SMTP")
    with mock.patch("engagements.emails.get_connection", return_value=broken):
        result = resource_email_send.apply(
            kwargs={
                "practice_id": collection.practice_id,
                "resource_id": resource.pk,
                "client_ids": client_ids,
            }
        )
    assert result.get() == 0  # in-process: nothing to retry, nothing recorded
    with scopes_disabled():
        resource.refresh_from_db()
    assert resource.sent_at is None
    assert follow_up_state(world.home.objects["workshop"]) == StepState.PENDING


def test_slack_steps_say_slack_is_not_connected_and_where_to_connect_it(world, as_member):
    engagement = world.home.objects["engagement"]
    with scopes_disabled():
        step = engagement.steps.get(key="slack_invite")
    assert step.state == StepState.NOT_APPLICABLE
    assert "Slack is not connected" in step.reason
    assert "Integrations page" in step.reason
    page = as_member("owner").get(engagement.get_absolute_url()).content.decode()
    assert "Slack is not connected" in page
    assert 'href="/dashboard/integrations/"' in page  # the page it names is one click away


def test_the_home_page_promises_only_what_exists(client):
    page = client.get("/").content.decode()
    assert "recap" not in page.lower() and "commitment" not in page.lower()


def test_a_mail_server_failing_part_way_sends_nobody_the_resource_twice(world, monkeypatch):
    """The retry a worker runs sends only to the people still owed."""
    collection = workshop_collection(world)
    resource = add_resource(collection)
    with scopes_disabled():
        participants_add(
            collection=collection,
            actor=world.home.owner,
            participants=[Participant("Bo", "bo@acme.test"), Participant("Cy", "cy@acme.test")],
        )
        client_ids = sorted(collection.participants.values_list("pk", flat=True))
    assert len(client_ids) >= 3
    handed_over, calls = [], []

    def send_messages(messages):
        calls.append(1)
        if len(calls) == 2:
            raise ConnectionResetError("connection dropped")
        handed_over.extend(m.to[0] for m in messages)
        return len(messages)

    flaky = mock.Mock()
    flaky.send_messages.side_effect = send_messages
    retries = []

    class Retrying(Exception):
        pass

    def retry(exc=None, countdown=None, kwargs=None, **_):
        retries.append(kwargs)
        return Retrying()

    task = resource_email_send._get_current_object()
    monkeypatch.setattr(task, "retry", retry)
    monkeypatch.setattr(type(task), "is_eager", property(lambda task: False))
    first = {
        "practice_id": collection.practice_id,
        "resource_id": resource.pk,
        "client_ids": client_ids,
    }
    with mock.patch("engagements.emails.get_connection", return_value=flaky):
        with pytest.raises(Retrying):
            task(**first)
        (again,) = retries
        assert again["client_ids"] == client_ids[1:] and again["claimed_at"]
        task(**again)
    with scopes_disabled():
        emails = dict(collection.participants.values_list("pk", "email"))
        resource.refresh_from_db()
    assert sorted(handed_over) == sorted(emails[pk] for pk in client_ids)
    assert resource.sent_at is not None
    assert follow_up_state(world.home.objects["workshop"]) == StepState.DONE
