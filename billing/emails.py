"""The buyer's confirmation e-mail after a purchase, and the task that sends it."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage

from coachhub.links import absolute
from coachhub.mail import email_send
from coachhub.tasks import PracticeTask
from engagements.portal import portal_link
from engagements.services import clients_portal_users_ensure
from sessions_app.models import BookingLink

from .models import OfferKind, Purchase


def purchase_confirmation_message(purchase: Purchase) -> EmailMessage:
    """What the buyer reads after paying: what was bought and how to book it."""
    offer, practice = purchase.offer, purchase.practice
    # The engagement's coach: the offer's, unless that coach has left meanwhile.
    coach = purchase.engagement.coach if purchase.engagement_id else offer.coach
    lines = [f"Hello {purchase.client.name},", "", f"Thank you for buying {offer.name}."]
    booked = purchase.checkout_id and purchase.checkout.booking_id
    if purchase.setup_refused:
        lines.append(f"We have received your payment; {practice.name} will contact you about it.")
    elif booked:
        lines.append("Your session is booked; the calendar invite follows in its own e-mail.")
    else:
        link = (
            BookingLink.objects.filter(practice=practice, coach=coach, is_active=True, capacity=1)
            .order_by("requires_payment", "pk")
            .first()
        )
        if offer.kind == OfferKind.MONTHLY_PACKAGE:
            lines.append(
                f"{coach.get_full_name() or coach.email} will agree a regular day "
                "and time with you; your sessions then appear in your calendar."
            )
        elif link is not None:
            url = absolute(link.get_absolute_url())
            lines.append(f"Choose the time of your first session here: {url}")
        else:
            lines.append("Your coach will be in touch to schedule your first session.")
    if not purchase.setup_refused:
        lines += ["", f"Your sessions and what you have left: {portal_link(purchase.client)}"]
    lines += ["", practice.name]
    return EmailMessage(
        subject=f"Your purchase: {offer.name}",
        body="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[purchase.client.email],
    )


@shared_task(base=PracticeTask, bind=True, max_retries=5)
def purchase_confirmation_send(self, *, practice_id: int, purchase_id: int) -> int:
    """Thank the buyer; a purchase with a held slot gets its invite from the booking."""
    purchase = Purchase.objects.select_related(
        "offer", "engagement__coach", "client__user", "practice", "checkout"
    ).get(pk=purchase_id)
    clients_portal_users_ensure(clients=[purchase.client])
    try:
        email_send(
            purchase_confirmation_message(purchase),
            practice_id=practice_id,
            kind="purchase.confirmation",
            subject=purchase,
            engagement_id=purchase.engagement_id,
            attempt=self.attempt,
            will_retry=False if self.last_attempt else None,
        )
    except OSError as error:  # SMTP down: try again later rather than lose it
        raise self.retry_later(error) from error
    return 1
