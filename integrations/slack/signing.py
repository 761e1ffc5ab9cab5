"""Slack signs every request it sends us: `v0=` HMAC-SHA256 of `v0:<timestamp>:<body>`."""

from __future__ import annotations

from collections.abc import Mapping

from slack_sdk.signature import SignatureVerifier

# Slack's guidance: refuse a request whose timestamp is more than five minutes away.
MAX_AGE_SECONDS = 60 * 5


def request_is_signed(*, signing_secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether the raw body carries a fresh, valid signature made with this secret."""
    if not signing_secret:
        return False
    timestamp = headers.get("X-Slack-Request-Timestamp") or ""
    signature = headers.get("X-Slack-Signature") or ""
    if not timestamp.isdigit() or not signature:
        return False
    try:
        body.decode("utf-8")  # Slack sends UTF-8; slack_sdk would raise on anything else
    except UnicodeDecodeError:
        return False
    verifier = SignatureVerifier(signing_secret)
    return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
