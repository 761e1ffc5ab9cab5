"""Writes for billing, split by topic; import from here (`from billing import services`).

- `stripe_account`: the practice's Stripe keys, checked with Stripe
- `offers`: what the practice sells, with its Stripe Product and Price
- `checkout`: Stripe Checkout for an offer, and a paid booking's held slot
- `purchases`: the purchase pipeline, from a paid checkout to session records
- `subscriptions`: each paid month of a package, dunning, and its end
- `refunds`: refunds and disputes, and the credits revoked for them
- `company_invoices`: a seat contract's month invoiced to the company
- `members`: a member removed, with their booking links and offers closed
"""

from .checkout import (
    CHECKOUT_HOURS,
    PAYMENTS_NOT_READY,
    booking_start,
    checkout_expired_apply,
    checkout_start,
)
from .company_invoices import (
    COMPANY_INVOICE_DAYS_DUE,
    company_invoice_create,
    company_invoice_payment_apply,
    company_invoice_void,
    company_invoice_voided_apply,
)
from .members import MemberRemoval, member_remove, offers_withdraw_for_coach
from .offers import coach_for_purchase, offer_purchase_check, offer_save, offer_stripe_sync
from .purchases import (
    NotYetProcessable,
    PaidObject,
    payment_record,
    purchase_ensure,
    purchase_fulfil_checkout,
    purchase_paid_at_settle,
)
from .refunds import dispute_apply, refund_apply, refund_revocation_settle
from .stripe_account import (
    stripe_account_connect,
    stripe_account_disconnect,
    stripe_account_of,
    stripe_trouble,
    verified_stripe_account,
)
from .subscriptions import (
    invoice_failed_apply,
    invoice_paid_apply,
    subscription_end,
    subscription_expiry_settle,
    subscription_state_apply,
)

__all__ = [
    "CHECKOUT_HOURS",
    "COMPANY_INVOICE_DAYS_DUE",
    "PAYMENTS_NOT_READY",
    "MemberRemoval",
    "NotYetProcessable",
    "PaidObject",
    "booking_start",
    "checkout_expired_apply",
    "checkout_start",
    "coach_for_purchase",
    "company_invoice_create",
    "company_invoice_payment_apply",
    "company_invoice_void",
    "company_invoice_voided_apply",
    "dispute_apply",
    "invoice_failed_apply",
    "member_remove",
    "invoice_paid_apply",
    "offer_purchase_check",
    "offer_save",
    "offer_stripe_sync",
    "offers_withdraw_for_coach",
    "payment_record",
    "purchase_ensure",
    "purchase_fulfil_checkout",
    "purchase_paid_at_settle",
    "refund_apply",
    "refund_revocation_settle",
    "stripe_account_connect",
    "stripe_account_disconnect",
    "stripe_account_of",
    "stripe_trouble",
    "subscription_end",
    "subscription_expiry_settle",
    "subscription_state_apply",
    "verified_stripe_account",
]
