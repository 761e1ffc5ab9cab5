"""Signed, expiring tokens for a booking's reschedule/cancel link and ICS download, and
for the session page of an attendee without a booking.

The token carries the practice, so the public view can open that practice's scope
before it looks anything up; it expires when the session is over (a day after it
is issued at the earliest). A forged token is a 404, an expired one a 410.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.core import signing

from .models import Booking, Session

SALT = "coachhub.sessions.booking-manage"


class TokenInvalid(Exception):
    """Not a token we signed (forged, truncated, tampered)."""


class TokenExpired(Exception):
    """A token we signed, but its session is over."""


def manage_token(booking: Booking, *, now: dt.datetime) -> str:
    session = booking.session
    expires = max(session.ends_at or now, now) + dt.timedelta(days=1)
    return signing.dumps(
        {"p": booking.practice_id, "b": booking.public_id.hex, "e": int(expires.timestamp())},
        salt=SALT,
        compress=True,
    )


def read_manage_token(token: str, *, now: dt.datetime) -> tuple[int, uuid.UUID]:
    """(practice id, booking public id) from a token, or TokenInvalid / TokenExpired."""
    try:
        payload = signing.loads(token, salt=SALT)
        practice_id, booking_id = int(payload["p"]), uuid.UUID(hex=payload["b"])
        expires = int(payload["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise TokenInvalid from None
    if now.timestamp() > expires:
        raise TokenExpired
    return practice_id, booking_id


# --- A session's page for one attendee without a booking (a session the coach scheduled,
# a package's generated session, a workshop participant): same shape, its own salt.
ATTENDEE_SALT = "coachhub.sessions.attendee"


def attendee_token(session: Session, client_id: int, *, now: dt.datetime) -> str:
    expires = max(session.ends_at or now, now) + dt.timedelta(days=1)
    return signing.dumps(
        {
            "p": session.practice_id,
            "s": session.public_id.hex,
            "c": client_id,
            "e": int(expires.timestamp()),
        },
        salt=ATTENDEE_SALT,
        compress=True,
    )


def read_attendee_token(token: str, *, now: dt.datetime) -> tuple[int, uuid.UUID, int]:
    """(practice id, session public id, client id) from a token, or TokenInvalid / TokenExpired."""
    try:
        payload = signing.loads(token, salt=ATTENDEE_SALT)
        practice_id, session_id = int(payload["p"]), uuid.UUID(hex=payload["s"])
        client_id, expires = int(payload["c"]), int(payload["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise TokenInvalid from None
    if now.timestamp() > expires:
        raise TokenExpired
    return practice_id, session_id, client_id
