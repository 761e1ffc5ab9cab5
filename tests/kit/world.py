"""The two-practice world: `home` and `other`, each with owner/coach/assistant personas."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone
from django_scopes import scopes_disabled

from billing import services as billing_services
from billing.models import Checkout, CompanyInvoice, Purchase, StripeEvent
from caring.models import (
    Commitment,
    PrepAnswer,
    Recap,
    SessionAgenda,
    SessionNote,
    SessionPrep,
)
from chat.models import (
    ChannelStatus,
    ConnectionMethod,
    SlackChannel,
    SlackConnection,
    SlackEvent,
    SlackInvite,
    SlackOAuthState,
    SlackPost,
)
from coachhub.models import Invitation, Membership, Practice, Role, User
from coachhub.services import api_token_create
from engagements import services
from engagements.models import Collection
from engagements.participants import Participant
from engagements.services import practice_set_up
from sessions_app import services as sessions_services
from sessions_app.ledger import credit_entry_add
from sessions_app.models import Booking, CreditKind, ExternalCalendar, Session

from .factories import UserFactory

# Every name of the other practice's objects carries this, so a page that shows any of
# them is caught by looking for it.
OTHER_MARKER = "ZZOTHERPRACTICE"


@dataclass
class PracticeWorld:
    practice: Practice
    owner: User
    coach: User
    assistant: User
    objects: dict = field(default_factory=dict)

    def member(self, role: str) -> User:
        return {"owner": self.owner, "coach": self.coach, "assistant": self.assistant}[role]


def build_practice(label: str, *, marker: str = "") -> PracticeWorld:
    """A practice with three personas and one of everything, made through the services."""
    owner = UserFactory(email=f"owner-{label}@example.com", first_name=f"{marker}Owner")
    coach = UserFactory(email=f"coach-{label}@example.com", first_name=f"{marker}Coach")
    assistant = UserFactory(email=f"assistant-{label}@example.com", first_name=f"{marker}Asst")
    practice = practice_set_up(owner=owner, name=f"{marker}Practice {label}")
    coach_membership = Membership.objects.create(practice=practice, user=coach, role=Role.COACH)
    Membership.objects.create(practice=practice, user=assistant, role=Role.ASSISTANT)
    world = PracticeWorld(practice, owner, coach, assistant)
    now = timezone.now()
    with scopes_disabled():
        organization = services.organization_create(
            practice=practice, actor=owner, name=f"{marker}Company {label}"
        )
        contract = services.contract_create(
            practice=practice,
            actor=owner,
            organization=organization,
            title=f"{marker}Contract",
            starts_on=(now - dt.timedelta(days=400)).date(),
            ends_on=(now + dt.timedelta(days=400)).date(),
            seats=5,
            sessions_per_seat_per_month=2,
            session_minutes=55,
            price_per_seat_month=Decimal("400"),
        )
        client = services.client_create(
            practice=practice,
            actor=owner,
            name=f"{marker}Client {label}",
            email=f"client-{label}@example.org",
            coach=coach,
            private_notes="secret notes",
        )
        seat_client = services.client_create(
            practice=practice,
            actor=owner,
            name=f"{marker}Seat client {label}",
            email=f"seat-{label}@example.org",
        )
        services.seat_assign(
            practice=practice,
            actor=owner,
            contract=contract,
            client=seat_client,
            coach=coach,
            coach_chosen_at=now - dt.timedelta(days=30),
        )
        engagement = sessions_services.engagement_create_per_session(
            practice=practice,
            actor=owner,
            client=client,
            coach=coach,
            first_session_at=now + dt.timedelta(days=2),
        )
        workshop = sessions_services.engagement_create_team_workshop(
            practice=practice,
            actor=owner,
            coach=coach,
            title=f"{marker}Workshop",
            core_subject="Feedback",
            participants=[Participant(f"{marker}P", f"p-{label}@ex.org")],
            starts_at=now + dt.timedelta(days=5),
        )
        token, key = api_token_create(practice=practice, user=owner)
        session = Session.objects.filter(engagement=engagement).first()
        link = sessions_services.booking_link_save(
            practice=practice, actor=coach, slug="intro", title=f"{marker}Intro call"
        )
        booking = Booking.objects.create(
            practice=practice, session=session, client=client, time_zone="Europe/Paris"
        )
        world.objects = {
            "organization": organization,
            "contract": contract,
            "client": client,
            "seat_client": seat_client,
            "engagement": engagement,
            "workshop": workshop,
            "collection": Collection.objects.get(engagement=engagement),
            "session": session,
            "link": link,
            "booking": booking,
            "hours": sessions_services.weekly_hours_add(
                practice=practice,
                actor=coach,
                coach=coach,
                weekday=0,
                starts=dt.time(9),
                ends=dt.time(17),
            ),
            "override": sessions_services.date_override_add(
                practice=practice, actor=coach, coach=coach, date=now.date() + dt.timedelta(days=9)
            ),
            "calendar": ExternalCalendar.objects.create(
                practice=practice, coach=coach, name=f"{marker}Cal", url="https://example.org/c.ics"
            ),
            "feed": sessions_services.feed_token_for(practice=practice, coach=coach),
            "token": token,
            "token_key": key,
            "membership": coach_membership,
            "invitation": Invitation.objects.create(
                practice=practice,
                email=f"invitee-{label}@example.com",
                role=Role.COACH,
                invited_by=owner,
                expires_at=now + dt.timedelta(days=7),
            ),
            **_billing_objects(practice, coach, client, marker),
        }
        world.objects["company_invoice"] = CompanyInvoice.objects.create(
            practice=practice,
            contract=contract,
            month=dt.date(2030, 3, 1),
            stripe_invoice_id=f"in_{marker or 'home'}",
            stripe_customer_id=f"cus_{marker or 'home'}",
            amount_total=45000,
            currency="EUR",
        )
        if marker:  # home stays without Slack: its checklists say Slack is not connected
            world.objects.update(slack_objects(world, marker))
        world.objects.update(caring_objects(world, marker))
    return world


def caring_objects(world: PracticeWorld, marker: str) -> dict:
    """One of each caring row, named with `marker`. The other practice's sit on its client's
    session (the one the sweeps reach for); home's on its workshop, so the home client's
    session starts with a blank slate for the tests of caring."""
    practice, objects = world.practice, world.objects
    if marker:
        session = objects["session"]
    else:
        session = Session.objects.filter(engagement=objects["workshop"]).first()
    prep = SessionPrep.objects.create(
        practice=practice, session=session, questions=[f"{marker}Prep question?"]
    )
    now = timezone.now()
    return {
        "prep": prep,
        "prep_answer": PrepAnswer.objects.create(
            practice=practice, prep=prep, client=objects["client"], answers=[f"{marker}Answer"]
        ),
        "agenda": SessionAgenda.objects.create(
            practice=practice, session=session, items=[f"{marker}Agenda item"]
        ),
        "session_note": SessionNote.objects.create(
            practice=practice, session=session, body=f"{marker}private session notes"
        ),
        "recap": Recap.objects.create(
            practice=practice,
            session=session,
            engagement=session.engagement,
            body=f"{marker}Recap",
            shared_body=f"{marker}Recap",
            version=1,
            shared_at=now,
            shared_by=world.coach,
            channels=["email", "portal"],
        ),
        "commitment": Commitment.objects.create(
            practice=practice,
            engagement=session.engagement,
            session=session,
            client=objects["client"] if marker else None,
            text=f"{marker}Commitment",
            due_on=(now + dt.timedelta(days=-3 if marker else 30)).date(),
            missed_at=now if marker else None,
        ),
    }


def slack_objects(world: PracticeWorld, marker: str) -> dict:
    """A connected workspace and one of each Slack record, named with `marker`."""
    practice, objects = world.practice, world.objects
    label = marker or "HOME"
    connection = SlackConnection.objects.create(
        practice=practice,
        method=ConnectionMethod.PASTED,
        team_id=f"T{label}",
        team_name=f"{marker}Workspace",
        bot_user_id=f"U{label}",
        bot_id=f"B{label}",
        scopes="groups:write,chat:write",
        bot_token=f"xoxb-{label}-0000-sweep",
        signing_secret=f"{label}-signing-secret-sweep",
        invite_link=f"https://join.slack.com/t/{label.lower()}/shared_invite/zt-1",
    )
    channel = SlackChannel.objects.create(
        practice=practice,
        collection=objects["collection"],
        status=ChannelStatus.CREATED,
        channel_id=f"C{label}",
        name=f"{marker.lower()}coaching-client",
    )
    return {
        "slack_connection": connection,
        "slack_state": SlackOAuthState.objects.create(
            practice=practice, user=world.owner, state=f"state-{label}"
        ),
        "slack_channel": channel,
        "slack_invite": SlackInvite.objects.create(
            practice=practice, channel=channel, client=objects["client"], email=f"{label}@ex.org"
        ),
        "slack_event": SlackEvent.objects.create(
            practice=practice,
            event_id=f"Ev{label}",
            team_id=f"T{label}",
            type="team_join",
            payload={"event": {"type": "team_join", "user": {"name": f"{marker}Joiner"}}},
        ),
        "slack_post": SlackPost.objects.create(
            practice=practice, channel=channel, key=f"{marker}reminder:1", kind="reminder"
        ),
    }


def _billing_objects(practice, coach, client, marker: str) -> dict:
    """An offer, a checkout, a stored Stripe event, a purchase and a ledger line."""
    offer = billing_services.offer_save(
        practice=practice,
        actor=coach,
        kind="session_pack",
        name=f"{marker}Five sessions",
        price="450.00",
        sessions=5,
    )
    checkout = Checkout.objects.create(
        practice=practice,
        offer=offer,
        email=client.email,
        name=client.name,
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    engagement = Session.objects.filter(client=client).first().engagement
    purchase = Purchase.objects.create(
        practice=practice,
        offer=offer,
        client=client,
        checkout=checkout,
        engagement=engagement,
        amount_total=45000,
        currency="EUR",
        paid_at=timezone.now(),
        stripe_checkout_id=f"cs_test_{marker or 'home'}",
    )
    credit_entry_add(
        engagement=engagement,
        kind=CreditKind.GRANT,
        amount=5,
        effect_key=f"grant:purchase:{purchase.pk}",
        purchase_id=purchase.pk,
    )
    event = StripeEvent.objects.create(
        practice=practice,
        stripe_id=f"evt_{marker or 'home'}",
        type="invoice.created",
        payload={"id": "evt", "type": "invoice.created", "data": {"object": {}}},
        stripe_created=timezone.now(),
        source="reconcile",
    )
    return {"offer": offer, "checkout": checkout, "purchase": purchase, "stripe_event": event}


@dataclass
class World:
    """`home` is the practice under test; `other` is full of objects that must stay unreachable."""

    home: PracticeWorld
    other: PracticeWorld
