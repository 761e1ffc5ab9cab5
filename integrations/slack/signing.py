"""Slack signs every request it sends us: `v0=` HMAC-SHA256 of `v0:<timestamp>:<body>`."""

from __future__ import annotations

import re
from collections.abc import Mapping

from slack_sdk.signature import SignatureVerifier

# Slack's guidance: refuse a request whose timestamp is more than five minutes away.
MAX_AGE_SECONDS = 60 * 5
SIGNATURE_PATTERN = re.compile(r"^v0=[0-9a-f]{64}$")


def request_is_signed(*, signing_secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether the raw body carries a fresh, valid signature made with this secret."""
    if not signing_secret:
        return False
    timestamp = headers.get("X-Slack-Request-Timestamp") or ""
    signature = headers.get("X-Slack-Signature") or ""
    # "²" is a digit to str.isdigit() but not to int(); a non-ASCII signature would make
    # compare_digest raise: both are refused before slack_sdk sees them.
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return False
    if not SIGNATURE_PATTERN.match(signature):
        return False
    try:
        body.decode("utf-8")  # Slack sends UTF-8; slack_sdk would raise on anything else
        verifier = SignatureVerifier(signing_secret)
        return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
    except (ValueError, TypeError):
        return False
