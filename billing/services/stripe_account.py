"""The practice's own Stripe account: keys checked with Stripe, stored encrypted."""

from __future__ import annotations

import logging
import re

from django.core.exceptions import ValidationError
from django.utils import timezone

from coachhub.audit import audit_record
from coachhub.calls import call_recorded
from coachhub.models import CallProvider, Practice, User
from coachhub.permissions import require
from coachhub.tenancy import membership_of
from integrations.errors import FailureKind, IntegrationError
from integrations.stripe import client as stripe_api

from ..models import StripeAccount, StripeMode

logger = logging.getLogger(__name__)

SECRET_KEY_PATTERN = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9]+$")

PUBLISHABLE_KEY_PATTERN = re.compile(r"^pk_(test|live)_[A-Za-z0-9]+$")

WEBHOOK_SECRET_PATTERN = re.compile(r"^whsec_[A-Za-z0-9+/=_-]+$")


def stripe_trouble(error: IntegrationError, *, outcome: str, key: str = "saved") -> str:
    """What a page says when a Stripe call failed: what happened, what was not done
    (`outcome`, such as "nothing was saved") and what to do. The library's own text goes to
    the log; only a refused request's reason, which Stripe writes for people, is shown."""
    logger.warning("Stripe call failed (%s): %s", error.kind, error)
    if error.kind == FailureKind.UNREACHABLE:
        return (
            f"Stripe could not be reached from this server; {outcome}. Please try again in a "
            "moment; if it keeps happening, this server's connection to Stripe is down."
        )
    if error.kind == FailureKind.KEY_REFUSED and key == "new":
        return (
            f"Stripe refused this key (it is not a valid key, or it was revoked or rolled); "
            f"{outcome}. Copy the secret key again from Stripe → Developers → API keys."
        )
    if error.kind == FailureKind.KEY_REFUSED:
        return (
            f"Stripe refused the saved key (it may have been revoked or rolled); {outcome}. "
            "Paste a current secret key in Stripe settings."
        )
    if error.kind == FailureKind.REQUEST_REFUSED:
        return f"Stripe refused the request; {outcome}. Stripe's reason: {error}"
    return (
        f"Stripe had a problem answering (it may be busy); {outcome}. "
        "Please try again in a few minutes."
    )


def verified_stripe_account(practice: Practice, *, to: str) -> StripeAccount:
    """The practice's Stripe account, or a message saying Stripe must be connected first."""
    account = stripe_account_of(practice)
    if account is None or not account.verified_at:
        raise ValidationError(f"Connect Stripe (Payments → Stripe) to {to}.")
    return account


def stripe_account_connect(
    *,
    practice: Practice,
    actor: User,
    secret_key: str = "",
    publishable_key: str = "",
    webhook_secret: str = "",
) -> StripeAccount:
    """Save the practice's keys after one Stripe call proves the secret key works.

    A blank field keeps the stored value (the form never shows the secrets back), so
    pasting the webhook secret later leaves the keys as they were.
    """
    require(membership_of(practice, actor), "payments.manage")
    account = StripeAccount.objects.filter(practice=practice).first() or StripeAccount(
        practice=practice
    )
    secret_key = secret_key.strip() or account.secret_key or ""
    webhook_secret = webhook_secret.strip() or account.webhook_secret or ""
    publishable_key = publishable_key.strip() or account.publishable_key or ""
    errors: dict[str, str] = {}
    if not SECRET_KEY_PATTERN.match(secret_key):
        errors["secret_key"] = "Paste the secret key from Stripe → Developers → API keys (sk_…)."
    if publishable_key and not PUBLISHABLE_KEY_PATTERN.match(publishable_key):
        errors["publishable_key"] = "A publishable key starts with pk_test_ or pk_live_."
    elif publishable_key and publishable_key.split("_")[1] != secret_key.split("_")[1]:
        errors["publishable_key"] = "The publishable key is for the other mode (test/live)."
    if webhook_secret and not WEBHOOK_SECRET_PATTERN.match(webhook_secret):
        errors["webhook_secret"] = "The signing secret starts with whsec_ (Stripe → Webhooks)."
    if errors:
        raise ValidationError(errors)
    try:
        with call_recorded(
            practice_id=practice.pk, provider=CallProvider.STRIPE, operation="account.verify"
        ):
            info = stripe_api.account_verify(secret_key)
    except IntegrationError as error:
        message = stripe_trouble(error, outcome="nothing was saved", key="new")
        if error.kind == FailureKind.KEY_REFUSED:
            raise ValidationError({"secret_key": message}) from None
        raise ValidationError(message) from None
    account.secret_key = secret_key
    account.publishable_key = publishable_key
    account.webhook_secret = webhook_secret
    account.mode = StripeMode.LIVE if info.livemode else StripeMode.TEST
    account.account_id, account.account_name = info.account_id, info.name
    account.verified_at = timezone.now()
    account.save()
    # Never the keys themselves: only which account and mode.
    audit_record(
        practice=practice,
        actor=actor,
        action="stripe.connect",
        obj=account,
        account=info.account_id,
        mode=account.mode,
    )
    return account


def stripe_account_disconnect(*, practice: Practice, actor: User) -> None:
    require(membership_of(practice, actor), "payments.manage")
    account = stripe_account_of(practice)
    if account is not None:
        audit_record(practice=practice, actor=actor, action="stripe.disconnect", obj=account)
        account.delete()


def stripe_account_of(practice: Practice) -> StripeAccount | None:
    return StripeAccount.objects.filter(practice=practice).first()
