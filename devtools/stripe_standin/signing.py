"""Stripe's webhook signature scheme, so the stand-in and the tests sign deliveries as
Stripe does.

Stripe signs `"{timestamp}.{raw body}"` with HMAC-SHA256 under the endpoint's signing
secret and sends `Stripe-Signature: t=<timestamp>,v1=<hex digest>`. The app verifies with
the `stripe` library's own check, so a mistake here shows up as a refused delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import time


def signature_header(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` value for `payload` (signed now unless `timestamp` is given)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
