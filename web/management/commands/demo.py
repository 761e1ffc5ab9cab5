"""A demo practice with every kind of engagement. Safe to run again: it finds what exists."""

import datetime as dt
from decimal import Decimal

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from billing.models import Offer, OfferKind, Payment, Purchase
from billing.services import offer_save
from coachhub.models import Membership, Practice, Role, User
from coachhub.tenancy import practice_scope
from engagements import services
from engagements.models import Client, Contract, Engagement, EngagementKind, Organization
from engagements.participants import Participant
from engagements.services import practice_set_up
from sessions_app import services as session_services
from sessions_app.models import BookingLink, Session, SessionSource, SessionStatus
from web.management.demo_caring import caring_demo_add

PASSWORD = "coachhub-demo"
OWNER_EMAIL = "owner@demo.coachhub.test"
COACH_EMAIL = "coach@demo.coachhub.test"
ASSISTANT_EMAIL = "assistant@demo.coachhub.test"
STAFF_EMAIL = "staff@demo.coachhub.test"
# What the demo's staff account may do in the admin: the rows of the demo practice.
# Not users' accounts: staff who may change users could make themselves superusers.
STAFF_APPS = ["coachhub", "engagements", "billing", "sessions_app", "caring"]
STAFF_WITHHELD = ["add_user", "change_user", "delete_user"]
# The invites the demo's sessions set off go to made-up addresses; with tasks run in-process
# they would bury the sign-in lines under ~2,000 lines of console e-mail, so they are kept
# in memory and counted. (A real worker sends them the way it sends every e-mail.)
DEMO_MAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PRACTICE_SLUG = "demo-coaching"


def _user(email: str, first: str, last: str, time_zone: str) -> User:
    user, created = User.objects.get_or_create(
        email=email, defaults={"first_name": first, "last_name": last, "time_zone": time_zone}
    )
    if created:
        user.set_password(PASSWORD)
        user.save()
    EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


class Command(BaseCommand):
    help = "Create (or top up) the demo practice and print how to sign in."

    def handle(self, *args, **options):
        with override_settings(EMAIL_BACKEND=DEMO_MAIL_BACKEND):
            sent_before = len(getattr(mail, "outbox", []))
            with transaction.atomic():
                practice = self._practice()
                with practice_scope(practice):
                    self._fill(practice)
                    links = self._availability_and_links(practice)
            kept = len(getattr(mail, "outbox", [])) - sent_before
        if kept:
            self.stdout.write(f"The demo's {kept} invite e-mails were kept off the console.")
        self.stdout.write(self.style.SUCCESS("Demo practice ready: " + practice.name))
        for link in links:
            self.stdout.write(f"  Booking link: {settings.SITE_URL}{link.get_absolute_url()}")
        self.stdout.write(
            f"  Client portal: {settings.SITE_URL}/portal/{practice.slug}/ (ask for a sign-in "
            "link as maya@example.com; the e-mail shows in the server's console)"
        )
        self.stdout.write(f"  Sign in at {settings.SITE_URL}/accounts/login/")
        self.stdout.write(f"  Owner:     {OWNER_EMAIL} / {PASSWORD}")
        self.stdout.write(f"  Coach:     {COACH_EMAIL} / {PASSWORD}")
        self.stdout.write(f"  Assistant: {ASSISTANT_EMAIL} / {PASSWORD}")
        self.stdout.write(f"Admin at {settings.SITE_URL}/admin/ (staff accounts only)")
        self.stdout.write(f"  Staff:     {STAFF_EMAIL} / {PASSWORD} (sees the demo practice)")
        self.stdout.write(
            "  Every practice: make a superuser with .venv/bin/python manage.py createsuperuser"
        )

    def _practice(self) -> Practice:
        owner = _user(OWNER_EMAIL, "Olivia", "Owen", "Europe/London")
        practice = Practice.objects.filter(slug=PRACTICE_SLUG).first()
        if practice is None:
            practice = practice_set_up(owner=owner, name="Demo Coaching", time_zone="Europe/London")
            practice.slug = PRACTICE_SLUG
            practice.save(update_fields=["slug"])
        coach = _user(COACH_EMAIL, "Carlos", "Coach", "America/New_York")
        assistant = _user(ASSISTANT_EMAIL, "Asha", "Assist", "Europe/London")
        Membership.objects.get_or_create(
            practice=practice, user=coach, defaults={"role": Role.COACH}
        )
        Membership.objects.get_or_create(
            practice=practice, user=assistant, defaults={"role": Role.ASSISTANT}
        )
        self._staff(practice)
        return practice

    def _staff(self, practice: Practice) -> None:
        """A staff account (not a superuser): the admin shows it the demo practice only,
        because staff see the practices they are members of (coachhub.admin_site)."""
        staff = _user(STAFF_EMAIL, "Sam", "Staff", "Europe/London")
        if not staff.is_staff:
            staff.is_staff = True
            staff.save(update_fields=["is_staff"])
        Membership.objects.get_or_create(
            practice=practice, user=staff, defaults={"role": Role.ASSISTANT}
        )
        staff.user_permissions.set(
            Permission.objects.filter(content_type__app_label__in=STAFF_APPS).exclude(
                content_type__app_label="coachhub", codename__in=STAFF_WITHHELD
            )
        )

    def _fill(self, practice: Practice) -> None:
        owner = User.objects.get(email=OWNER_EMAIL)
        coach = User.objects.get(email=COACH_EMAIL)
        if Engagement.objects.filter(practice=practice).exists():
            self.stdout.write("Demo data already present; nothing added.")
            return
        now = timezone.now()
        local_today = now.astimezone(practice.zone).date()
        steps = [
            "clients",
            "company and seat contract",
            "per-session coaching",
            "monthly package",
            "team workshop",
            "past sessions",
            "caring between sessions",
        ]
        for number, step in enumerate(steps, start=1):
            self.stdout.write(f"[{number}/{len(steps)}] {step}")
            getattr(self, "_" + step.replace(" ", "_").replace("-", "_"))(
                practice, owner, coach, now, local_today
            )

    def _clients(self, practice, owner, coach, now, today):
        people = [
            ("Maya Patel", "maya@example.com", "Europe/London", owner, ["leadership"]),
            ("Jonas Berg", "jonas@example.com", "Europe/Berlin", coach, ["career"]),
            ("Priya Shah", "priya@example.com", "Asia/Kolkata", coach, ["founder"]),
            ("Sam Lee", "sam@example.com", "America/New_York", owner, []),
        ]
        for name, email, zone, who, tags in people:
            services.client_find_or_create(
                practice=practice,
                actor=owner,
                email=email,
                name=name,
                time_zone=zone,
                coach=who,
                tags=tags,
            )

    def _company_and_seat_contract(self, practice, owner, coach, now, today):
        acme = Organization.objects.filter(practice=practice, name="Acme Corp").first() or (
            services.organization_create(
                practice=practice, actor=owner, name="Acme Corp", billing_email="hr@acme.test"
            )
        )
        contract = Contract.objects.filter(practice=practice, organization=acme).first() or (
            services.contract_create(
                practice=practice,
                actor=owner,
                organization=acme,
                title="Leadership coaching 2026",
                starts_on=today.replace(day=1) - dt.timedelta(days=60),
                ends_on=today + dt.timedelta(days=300),
                seats=10,
                sessions_per_seat_per_month=2,
                session_minutes=55,
                price_per_seat_month=Decimal("450.00"),
            )
        )
        for name, email, who in [
            ("Elena Ruiz", "elena@acme.test", coach),
            ("Tom Novak", "tom@acme.test", owner),
        ]:
            client, _ = services.client_find_or_create(
                practice=practice, actor=owner, email=email, name=name, organization=acme
            )
            services.seat_assign(
                practice=practice,
                actor=owner,
                contract=contract,
                client=client,
                coach=who,
                coach_chosen_at=now - dt.timedelta(days=20),
            )
            session_services.engagement_create_per_session(
                practice=practice,
                actor=owner,
                client=client,
                coach=who,
                first_session_at=_at(now, days=3, hour=10),
            )

    def _per_session_coaching(self, practice, owner, coach, now, today):

        session_services.engagement_create_per_session(
            practice=practice,
            actor=owner,
            client=Client.objects.get(practice=practice, email="jonas@example.com"),
            coach=coach,
            first_session_at=_at(now, days=2, hour=15),
            aims="Move into a product lead role.",
        )
        session_services.engagement_create_per_session(
            practice=practice,
            actor=owner,
            client=Client.objects.get(practice=practice, email="sam@example.com"),
            coach=owner,
            send_platform_invite=False,
        )

    def _monthly_package(self, practice, owner, coach, now, today):

        session_services.engagement_create_monthly_package(
            practice=practice,
            actor=owner,
            client=Client.objects.get(practice=practice, email="maya@example.com"),
            coach=owner,
            hours_per_month=Decimal("2"),
            cadence="biweekly",
            session_minutes=60,
            preferred_weekday=1,
            preferred_time=dt.time(9, 0),
            starts_on=today,
            months=3,
            aims="Grow into the VP role; delegate more.",
        )
        session_services.engagement_create_monthly_package(
            practice=practice,
            actor=owner,
            client=Client.objects.get(practice=practice, email="priya@example.com"),
            coach=coach,
            hours_per_month=Decimal("3"),
            cadence="weekly",
            session_minutes=60,
            starts_on=today,
            months=6,
        )

    def _team_workshop(self, practice, owner, coach, now, today):
        acme = Organization.objects.get(practice=practice, name="Acme Corp")
        session_services.engagement_create_team_workshop(
            practice=practice,
            actor=owner,
            coach=coach,
            title="Feedback that lands — Acme",
            core_subject="Giving and receiving feedback",
            organization=acme,
            participants=[
                Participant("Elena Ruiz", "elena@acme.test"),
                Participant("Ravi Kumar", "ravi@acme.test"),
                Participant("Lena Fischer", "lena@acme.test"),
                Participant("Omar Haddad", "omar@acme.test"),
            ],
            starts_at=_at(now, days=10, hour=13),
            session_minutes=120,
        )

    def _past_sessions(self, practice, owner, coach, now, today):
        engagement = Engagement.objects.filter(
            practice=practice, kind=EngagementKind.PER_SESSION, client__email="jonas@example.com"
        ).first()
        for weeks in (6, 4, 2):
            start = _at(now, days=-7 * weeks, hour=15)
            Session.objects.create(
                practice=practice,
                engagement=engagement,
                collection=engagement.collection,
                coach=engagement.coach,
                client=engagement.client,
                title=engagement.title,
                starts_at=start,
                ends_at=start + dt.timedelta(minutes=55),
                status=SessionStatus.COMPLETED,
                source=SessionSource.BOOKING_LINK,
            )

    def _caring_between_sessions(self, practice, owner, coach, now, today):
        caring_demo_add(practice=practice, coach=coach, now=now, today=today)

    def _availability_and_links(self, practice: Practice) -> list[BookingLink]:
        """Weekly hours and public links (added to an older demo database too)."""
        owner = User.objects.get(email=OWNER_EMAIL)
        coach = User.objects.get(email=COACH_EMAIL)
        if not BookingLink.objects.filter(practice=practice).exists():
            self.stdout.write("Availability and booking links")
            hours = [
                (coach, range(5), dt.time(9), dt.time(17)),
                (coach, [5], dt.time(10), dt.time(13)),
                (owner, range(4), dt.time(8), dt.time(12)),
                (owner, range(4), dt.time(13), dt.time(18)),
            ]
            for person, weekdays, starts, ends in hours:
                for weekday in weekdays:
                    session_services.weekly_hours_add(
                        practice=practice,
                        actor=person,
                        coach=person,
                        weekday=weekday,
                        starts=starts,
                        ends=ends,
                    )
            session_services.booking_link_save(
                practice=practice,
                actor=coach,
                slug="intro",
                title="Free intro call",
                description="30 minutes to see whether coaching with me is right for you.",
                duration_minutes=30,
                location="Video call (link in the invite)",
                minimum_notice_minutes=4 * 60,
            )
            session_services.booking_link_save(
                practice=practice,
                actor=owner,
                slug="coaching-session",
                title="Coaching session",
                duration_minutes=55,
                requires_payment=True,
                description="55 minutes of coaching. Company seat holders use their allowance.",
            )
            workshop = Engagement.objects.filter(
                practice=practice, kind=EngagementKind.TEAM_WORKSHOP
            ).first()
            if workshop is not None:
                session_services.booking_link_save(
                    practice=practice,
                    actor=coach,
                    slug="feedback-workshop",
                    title="Feedback that lands — open workshop",
                    duration_minutes=90,
                    capacity=8,
                    engagement=workshop,
                    step_minutes=90,
                )
        self._offers(practice, owner=owner, coach=coach)
        self._payment_history(practice)
        return list(BookingLink.objects.filter(practice=practice, is_active=True))

    def _offers(self, practice: Practice, *, owner: User, coach: User) -> None:
        """What the demo practice sells; the paid link sells the single session."""

        if Offer.objects.filter(practice=practice).exists():
            return
        self.stdout.write("Offers")
        single = offer_save(
            practice=practice,
            actor=owner,
            kind="single_session",
            name="Single coaching session",
            price="120.00",
            session_minutes=55,
        )
        offer_save(
            practice=practice,
            actor=owner,
            kind="session_pack",
            name="Five-session package",
            price="550.00",
            sessions=5,
            session_minutes=55,
        )
        offer_save(
            practice=practice,
            actor=owner,
            kind="monthly_package",
            name="Monthly coaching (3 months)",
            price="280.00",
            hours_per_month="2",
            months=3,
            session_minutes=60,
        )
        offer_save(
            practice=practice,
            actor=coach,
            kind="team_workshop",
            name="Team feedback workshop",
            description="Giving and receiving feedback that lands.",
            price="1800.00",
            capacity=12,
            session_minutes=120,
        )
        link = BookingLink.objects.filter(practice=practice, slug="coaching-session").first()
        if link is not None and link.offer_id is None:
            session_services.booking_link_save(
                practice=practice, actor=owner, link=link, offer=single
            )

    def _payment_history(self, practice: Practice) -> None:
        """Half a year of paid orders, so Metrics has something to show before Stripe is
        connected. Their ids start with `demo_`: no Stripe account ever saw them."""

        if Purchase.objects.filter(practice=practice).exists():
            return
        self.stdout.write("Payment history (demo, not from Stripe)")
        now = timezone.now()
        offers = {offer.kind: offer for offer in Offer.objects.filter(practice=practice)}
        clients = {client.email: client for client in Client.objects.filter(practice=practice)}
        # (client, offer kind, days ago, paid months): a monthly package pays each month.
        orders = [
            ("jonas@example.com", OfferKind.SINGLE_SESSION, 170, 1),
            ("sam@example.com", OfferKind.SESSION_PACK, 150, 1),
            ("maya@example.com", OfferKind.MONTHLY_PACKAGE, 140, 5),
            ("priya@example.com", OfferKind.MONTHLY_PACKAGE, 95, 2),
            ("jonas@example.com", OfferKind.SESSION_PACK, 80, 1),
            ("sam@example.com", OfferKind.SINGLE_SESSION, 40, 1),
            ("ravi@acme.test", OfferKind.TEAM_WORKSHOP, 33, 1),
            ("lena@acme.test", OfferKind.SINGLE_SESSION, 12, 1),
        ]
        for number, (email, kind, days_ago, months) in enumerate(orders, start=1):
            offer, client = offers.get(kind), clients.get(email)
            if offer is None or client is None:
                continue
            started = now - dt.timedelta(days=days_ago)
            purchase = Purchase.objects.create(
                practice=practice,
                offer=offer,
                client=client,
                amount_total=offer.amount_minor,
                currency=offer.currency,
                paid_at=started,
                stripe_checkout_id=f"demo_cs_{number}",
                stripe_subscription_id=f"demo_sub_{number}" if offer.is_subscription else "",
                subscription_state="active" if offer.is_subscription else "",
            )
            Payment.objects.bulk_create(
                Payment(
                    practice=practice,
                    purchase=purchase,
                    stripe_id=f"demo_in_{number}_{month}",
                    amount=offer.amount_minor,
                    currency=offer.currency,
                    paid_at=started + dt.timedelta(days=30 * month),
                )
                for month in range(months)
                if started + dt.timedelta(days=30 * month) <= now
            )


def _at(now: dt.datetime, *, days: int, hour: int) -> dt.datetime:
    day = (now + dt.timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return day
