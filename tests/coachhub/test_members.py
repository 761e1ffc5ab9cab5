"""Members by invitation: an owner invites by e-mail with a role, the link is accepted by
signing up or in, roles change (never leaving no owner), and a removed coach's links and
offers stop selling while their sessions wait to be given to another coach."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client as HttpClient
from django.utils import timezone
from django_scopes import scopes_disabled

from billing.models import Offer
from coachhub.models import ApiToken, AuditEntry, Invitation, Membership, Role, User
from coachhub.services import api_token_create, membership_add
from engagements.models import Client, Engagement
from sessions_app.models import BookingLink, Session
from sessions_app.services import feed_token_for

from ..kit.factories import UserFactory
from ..kit.http import login

pytestmark = pytest.mark.django_db

PASSWORD = "a sturdy passphrase 42"


def invite(owner_browser, capture, email="new.coach@example.com", role="coach") -> str:
    """Invite through the Members page; the path of the link in the e-mail sent."""
    mail.outbox.clear()
    with capture(execute=True):
        response = owner_browser.post("/practice/members/", {"email": email, "role": role})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [email]
    return link_in(mail.outbox[0].body)


def link_in(body: str) -> str:
    found = re.search(r"http://127\.0\.0\.1:8000(/invitations/\S+/)", body)
    assert found, body
    return found.group(1)


def test_owner_invites_by_email_and_the_link_is_really_sent(
    world, as_member, django_capture_on_commit_callbacks
):
    owner = as_member("owner")
    link = invite(owner, django_capture_on_commit_callbacks, role="assistant")
    message = mail.outbox[0]
    assert world.home.practice.name in message.subject
    assert "as assistant" in message.body
    with scopes_disabled():
        invitation = Invitation.objects.get(email="new.coach@example.com")
    assert invitation.sent_at is not None and invitation.accepted_at is None
    page = owner.get("/practice/members/").content.decode()
    assert "new.coach@example.com" in page and "Invitations waiting" in page
    assert "invitee-other@example.com" not in page  # another practice's invitation
    again = owner.post("/practice/members/", {"email": "NEW.COACH@example.com", "role": "coach"})
    assert "already has an invitation waiting" in again.content.decode()
    member = owner.post("/practice/members/", {"email": world.home.coach.email, "role": "coach"})
    assert "already a member" in member.content.decode()
    assert HttpClient().get(link).status_code == 200


def test_accept_by_signing_up(world, as_member, django_capture_on_commit_callbacks):
    link = invite(as_member("owner"), django_capture_on_commit_callbacks)
    browser = HttpClient()
    page = browser.get(link).content.decode()
    assert world.home.practice.name in page and "<strong>coach</strong>" in page
    signup = browser.get(link + "signup/")
    assert signup.status_code == 200 and "practice_name" not in signup.content.decode()
    mail.outbox.clear()
    response = browser.post(
        link + "signup/",
        {"email": "new.coach@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user__email="new.coach@example.com")
    assert membership.practice == world.home.practice and membership.role == Role.COACH
    assert Membership.objects.filter(user__email="new.coach@example.com").count() == 1
    assert not mail.outbox  # the link proved the address: no confirmation e-mail
    dashboard = browser.get("/dashboard/")
    assert dashboard.status_code == 200 and world.home.practice.name in dashboard.content.decode()
    assert browser.get(link).status_code == 410  # used up


def test_accept_by_signing_in_with_an_existing_account(
    world, as_member, django_capture_on_commit_callbacks
):
    existing = UserFactory(email="known@example.com")
    existing.set_password(PASSWORD)
    existing.save()
    EmailAddress.objects.create(user=existing, email=existing.email, verified=True, primary=True)
    Membership.objects.create(practice=world.other.practice, user=existing, role=Role.OWNER)
    link = invite(
        as_member("owner"), django_capture_on_commit_callbacks, "known@example.com", "assistant"
    )
    browser = HttpClient()
    assert "I have an account: sign in" in browser.get(link).content.decode()
    signed_in = browser.post("/accounts/login/", {"login": existing.email, "password": PASSWORD})
    assert signed_in.status_code == 302
    membership = Membership.objects.get(user=existing, practice=world.home.practice)
    assert membership.role == Role.ASSISTANT
    dashboard = browser.get("/dashboard/").content.decode()
    assert f'<option value="{world.home.practice.pk}" selected>' in dashboard  # now active


def test_a_signed_in_person_joins_with_one_click(
    world, as_member, django_capture_on_commit_callbacks
):
    link = invite(as_member("owner"), django_capture_on_commit_callbacks)
    person = UserFactory(email="someone@example.com")
    browser = login(person)
    assert "Join" in browser.get(link).content.decode()
    assert browser.post(link).status_code == 302
    assert Membership.objects.get(user=person).practice == world.home.practice


def test_expired_used_revoked_and_replaced_links_each_say_why(
    world, as_member, django_capture_on_commit_callbacks, settings
):
    settings.DEBUG = False
    owner = as_member("owner")
    link = invite(owner, django_capture_on_commit_callbacks)
    with scopes_disabled():
        invitation = Invitation.objects.get(email="new.coach@example.com")
    # Resent: the first e-mail's link stops working, the new one works.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(f"/practice/invitations/{invitation.pk}/", {"action": "resend"})
    fresh = link_in(mail.outbox[0].body)
    replaced = HttpClient().get(link)
    assert replaced.status_code == 410 and "newer invitation" in replaced.content.decode()
    assert HttpClient().get(fresh).status_code == 200
    # Expired.
    with scopes_disabled():
        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - dt.timedelta(minutes=1)
        )
    for path in (fresh, fresh + "signup/"):
        expired = HttpClient().get(path)
        page = expired.content.decode()
        assert expired.status_code == 410 and "has expired" in page, path
        assert f"Ask {world.home.owner.display_name} to send you a new one" in page
    assert "Expired" in owner.get("/practice/members/").content.decode()
    # Revoked.
    with scopes_disabled():
        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() + dt.timedelta(days=1)
        )
    owner.post(f"/practice/invitations/{invitation.pk}/", {"action": "revoke"})
    revoked = HttpClient().get(fresh)
    assert revoked.status_code == 410 and "withdrawn" in revoked.content.decode()
    # Forged.
    assert HttpClient().get(fresh[:-3] + "xx/").status_code == 404
    assert not Membership.objects.filter(user__email="new.coach@example.com").exists()


def test_an_accepted_link_is_used_up(world, as_member, django_capture_on_commit_callbacks):
    link = invite(as_member("owner"), django_capture_on_commit_callbacks)
    login(UserFactory(email="first@example.com")).post(link)
    second = login(UserFactory(email="second@example.com"))
    used = second.get(link)
    assert used.status_code == 410 and "already been accepted" in used.content.decode()
    assert second.post(link).status_code == 410
    assert not Membership.objects.filter(user__email="second@example.com").exists()


@pytest.mark.parametrize("role", ["coach", "assistant"])
def test_coaches_and_assistants_cannot_manage_members(world, as_member, role):
    browser = as_member(role)
    home = world.home.objects
    session = home["session"]
    assert browser.get("/practice/members/").status_code == 403
    assert (
        browser.post("/practice/members/", {"email": "x@example.com", "role": "owner"}).status_code
        == 403
    )
    for url, data in (
        (f"/practice/invitations/{home['invitation'].pk}/", {"action": "revoke"}),
        (f"/practice/members/{home['membership'].pk}/role/", {"role": "owner"}),
        (f"/practice/members/{home['membership'].pk}/remove/", {}),
        (f"/sessions/{session.public_id}/coach/", {"coach": world.home.owner.pk}),
        ("/practice/members/reassign/", {"coach": world.home.owner.pk}),
    ):
        assert browser.post(url, data).status_code == 403, url
    assert Membership.objects.get(pk=home["membership"].pk).role == Role.COACH
    with scopes_disabled():
        assert Invitation.objects.get(pk=home["invitation"].pk).revoked_at is None


def test_an_outsider_gets_404_for_our_members_and_invitations(world):
    outsider = login(world.other.owner, world.other.practice)
    home = world.home.objects
    for url, data in (
        (f"/practice/invitations/{home['invitation'].pk}/", {"action": "revoke"}),
        (f"/practice/members/{home['membership'].pk}/role/", {"role": "assistant"}),
        (f"/practice/members/{home['membership'].pk}/remove/", {}),
        (f"/sessions/{home['session'].public_id}/coach/", {"coach": world.other.owner.pk}),
    ):
        assert outsider.post(url, data).status_code == 404, url
    assert outsider.get(f"/practice/members/{home['membership'].pk}/remove/").status_code == 404
    assert Membership.objects.filter(pk=home["membership"].pk).exists()


def test_the_practice_always_keeps_an_owner(world, as_member):
    owner = as_member("owner")
    own = Membership.objects.get(practice=world.home.practice, user=world.home.owner)
    page = owner.post(f"/practice/members/{own.pk}/role/", {"role": "coach"}, follow=True)
    assert "needs an owner" in page.content.decode()
    refused = owner.post(f"/practice/members/{own.pk}/remove/", follow=True)
    assert "needs an owner" in refused.content.decode()
    own.refresh_from_db()
    assert own.role == Role.OWNER
    coach = world.home.objects["membership"]
    owner.post(f"/practice/members/{coach.pk}/role/", {"role": "owner"})
    owner.post(f"/practice/members/{own.pk}/role/", {"role": "coach"})
    own.refresh_from_db()
    coach.refresh_from_db()
    assert (own.role, coach.role) == (Role.COACH, Role.OWNER)


def test_removing_a_coach_stops_their_links_and_offers_and_lists_their_sessions(world, as_member):
    home = world.home
    practice, coach = home.practice, home.coach
    link, offer = home.objects["link"], home.objects["offer"]
    assert HttpClient().get(f"/book/{practice.slug}/{link.slug}/").status_code == 200
    with scopes_disabled():
        coach_sessions = list(
            Session.objects.filter(practice=practice, coach=coach, status="scheduled")
        )
    assert coach_sessions
    owner = as_member("owner")
    membership = home.objects["membership"]
    confirm = owner.get(f"/practice/members/{membership.pk}/remove/").content.decode()
    assert link.title in confirm and offer.name in confirm
    assert all(session.title in confirm for session in coach_sessions)
    with scopes_disabled():
        _, key = api_token_create(practice=practice, user=coach)
    assert (
        HttpClient().get("/api/v1/clients/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    )
    removed = owner.post(f"/practice/members/{membership.pk}/remove/")
    assert removed.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert (
        HttpClient().get("/api/v1/clients/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    )
    with scopes_disabled():
        assert ApiToken.objects.get(key_hash=ApiToken.hash_key(key)).revoked_at is not None
    # Booking links and offers stop taking bookings and purchases, and say so in the audit.
    visitor = HttpClient()
    assert visitor.get(f"/book/{practice.slug}/{link.slug}/").status_code == 404
    assert (
        visitor.get(
            f"/book/{practice.slug}/{link.slug}/slots?start=2030-01-01&end=2030-01-02"
        ).status_code
        == 404
    )
    assert visitor.get(f"/buy/{practice.slug}/{offer.public_id}/").status_code == 404
    with scopes_disabled():
        assert not BookingLink.objects.get(pk=link.pk).is_active
        assert not Offer.objects.get(pk=offer.pk).is_active
        actions = set(AuditEntry.objects.filter(practice=practice).values_list("action", flat=True))
    assert {"booking_link.close", "offer.withdraw", "membership.remove"} <= actions
    # Their sessions still to come wait on the Members page for another coach.
    page = owner.get("/practice/members/").content.decode()
    assert "Sessions to give to another coach" in page
    assert all(str(session.public_id) in page for session in coach_sessions)
    first, *rest = coach_sessions
    owner.post(f"/sessions/{first.public_id}/coach/", {"coach": home.owner.pk})
    with scopes_disabled():
        first_after = Session.objects.get(pk=first.pk)
    assert first_after.coach == home.owner and first_after.sequence == first.sequence + 1
    assert first_after.starts_at == first.starts_at
    handed = owner.post(
        "/practice/members/reassign/",
        {"former_coach": coach.pk, "coach": home.owner.pk},
        follow=True,
    ).content.decode()
    assert "now go to" in handed
    with scopes_disabled():
        assert not Session.objects.filter(
            practice=practice, coach=coach, status__in=["scheduled", "to_schedule"]
        ).exists()
        # What the engagements schedule next goes to the new coach too.
        engagement = Engagement.objects.get(pk=home.objects["engagement"].pk)
        client = Client.objects.get(pk=home.objects["client"].pk)
    assert engagement.coach == home.owner and client.coach == home.owner
    assert (
        "Sessions to give to another coach" not in owner.get("/practice/members/").content.decode()
    )


def test_a_session_is_not_given_to_a_coach_busy_at_that_time(world, as_member):
    home = world.home
    session = home.objects["session"]
    with scopes_disabled():
        session = Session.objects.get(pk=session.pk)
        Session.objects.create(
            practice=home.practice,
            engagement=session.engagement,
            coach=home.owner,
            title="Owner's own",
            starts_at=session.starts_at,
            ends_at=session.ends_at,
            status="scheduled",
        )
    owner = as_member("owner")
    Membership.objects.filter(pk=home.objects["membership"].pk).update(role=Role.ASSISTANT)
    page = owner.post(
        f"/sessions/{session.public_id}/coach/", {"coach": home.owner.pk}, follow=True
    )
    assert "already has a session at that time" in page.content.decode()
    with scopes_disabled():
        assert Session.objects.get(pk=session.pk).coach == home.coach


def test_a_session_given_to_another_coach_tells_its_client_and_both_coaches(
    world, as_member, django_capture_on_commit_callbacks
):
    """The client's invite names the new coach (same UID, next SEQUENCE), the new coach gets
    it on their calendar, and the former coach's calendar is told to drop it."""
    home = world.home
    with scopes_disabled():
        session = Session.objects.select_related("client").get(pk=home.objects["session"].pk)
    assert session.client_id
    owner = as_member("owner")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(f"/sessions/{session.public_id}/coach/", {"coach": home.owner.pk})
    by_recipient = {message.to[0]: message for message in mail.outbox}
    assert set(by_recipient) == {session.client.email, home.owner.email, home.coach.email}

    def invite(message) -> str:
        content = message.attachments[0][1]
        return content.decode() if isinstance(content, bytes) else content

    client_invite = invite(by_recipient[session.client.email])
    assert by_recipient[session.client.email].subject.startswith(
        f"Now with {home.owner.display_name}:"
    )
    assert "METHOD:REQUEST" in client_invite and f"SEQUENCE:{session.sequence + 1}" in client_invite
    assert session.ics_uid() in client_invite
    assert "METHOD:REQUEST" in invite(by_recipient[home.owner.email])
    former = by_recipient[home.coach.email]
    assert former.subject.startswith(f"Now with {home.owner.display_name}:")
    assert "METHOD:CANCEL" in invite(former) and session.ics_uid() in invite(former)


def test_a_removed_coachs_private_feed_stops_at_once(world, as_member):
    """Their feed lists clients' names and e-mails: it must not outlive the membership."""
    home = world.home
    with scopes_disabled():
        feed = feed_token_for(practice=home.practice, coach=home.coach)
    assert HttpClient().get(f"/calendar/{feed.token}.ics").status_code == 200
    owner = as_member("owner")
    owner.post(f"/practice/members/{home.objects['membership'].pk}/remove/")
    assert HttpClient().get(f"/calendar/{feed.token}.ics").status_code == 404


def test_someone_joining_their_first_practice_sees_its_zone_not_utc(
    world, as_member, django_capture_on_commit_callbacks
):
    """An account that never chose a zone (the default, UTC) takes the practice's on
    joining; one that belongs elsewhere keeps its own."""
    practice = world.home.practice
    practice.time_zone = "America/New_York"
    practice.save(update_fields=["time_zone"])
    newcomer = User.objects.create_user(email="fresh@example.com", password=PASSWORD)
    EmailAddress.objects.create(user=newcomer, email=newcomer.email, verified=True, primary=True)
    assert newcomer.time_zone == "UTC"
    link = invite(as_member("owner"), django_capture_on_commit_callbacks, newcomer.email)
    browser = HttpClient()
    browser.get(link)
    assert browser.post("/accounts/login/", {"login": newcomer.email, "password": PASSWORD})
    newcomer.refresh_from_db()
    assert newcomer.time_zone == "America/New_York"
    assert "Times in America/New_York" in browser.get("/dashboard/").content.decode()

    elsewhere = User.objects.create_user(email="elsewhere@example.com", password=PASSWORD)
    Membership.objects.create(practice=world.other.practice, user=elsewhere, role=Role.OWNER)
    with scopes_disabled():
        membership_add(
            practice=practice, actor=world.home.owner, email=elsewhere.email, role="coach"
        )
    elsewhere.refresh_from_db()
    assert elsewhere.time_zone == "UTC"
