"""Stripe's webhook signature scheme, for the stand-in and the tests that deliver events.

Stripe signs `"{timestamp}.{raw body}"` with HMAC-SHA256 under the endpoint's signing
secret and sends `Stripe-Signature: t=<timestamp>,v1=<hex digest>`. Verification on our
side is the `stripe` library's own (`stripe.Webhook.construct_event`).
"""

from __future__ import annotations

import hashlib
import hmac
import time


def signature_header(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
