"""A short-lived cache of what the public booking pages show.

Many visitors look at the same link and month, and the slots only change when the
coach's time does. So the computed answer is kept with the coach's *availability
version*: every service that changes a coach's busy time, rules or links calls
`coach_availability_changed`, which gives the coach a new version, and the next
visitor recomputes. Entries are keyed by the public URL (a repeat visit needs no
database at all) and by the current minute, and live 60 s: minimum notice and hold
expiry move on by themselves, and anything that bypasses the services (an admin
edit) is stale for a minute at most.

Only what is *shown* is cached: booking always re-checks against the database
(`services._offered`, then the exclusion constraint), so a stale slot can never be
booked twice — the visitor would get "that time was just taken".
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.core.cache import cache
from django.db import transaction

CACHE_SECONDS = 60


def _version_key(coach_id: int) -> str:
    return f"slots:coach:{coach_id}:version"


def _new_version(coach_id: int) -> None:
    cache.set(_version_key(coach_id), uuid.uuid4().hex, timeout=None)


def coach_availability_changed(coach_id: int) -> None:
    """Retire what visitors were shown for this coach.

    Now, and again once the change has committed: a visitor who computed slots
    in between saw the old data, and the second bump retires that too.
    """
    _new_version(coach_id)
    transaction.on_commit(lambda: _new_version(coach_id))


class SlotCacheEntry:
    """One public answer: a link's slots for a window, as one view presents them.

    `get()` is the whole cost of a repeat visit (two cache reads). On a miss the
    view reads `version_of(coach)` *before* it reads the coach's time, computes
    as of `as_of`, and `put()`s — so a change made meanwhile retires the entry.
    """

    def __init__(
        self,
        *,
        practice_slug: str,
        link_slug: str,
        view: str,
        window_start: dt.datetime,
        window_end: dt.datetime,
        now: dt.datetime,
    ):
        minute = now.replace(second=0, microsecond=0)
        # Judged at the end of the minute: notice and hold expiry err on the safe side.
        self.as_of = minute + dt.timedelta(minutes=1)
        self.key = ":".join(
            (
                "slots",
                practice_slug,
                link_slug,
                view,
                str(int(window_start.timestamp())),
                str(int(window_end.timestamp())),
                str(int(minute.timestamp())),
            )
        )

    def get(self) -> Any | None:
        entry = cache.get(self.key)
        if entry is None:
            return None
        coach_id, version, value = entry
        return value if cache.get(_version_key(coach_id)) == version else None

    @staticmethod
    def version_of(coach_id: int) -> str:
        key = _version_key(coach_id)
        version = cache.get(key)
        if version is None:
            cache.add(key, uuid.uuid4().hex, timeout=None)
            version = cache.get(key) or "unversioned"
        return version

    def put(self, *, coach_id: int, version: str, value: Any) -> None:
        cache.set(self.key, (coach_id, version, value), timeout=CACHE_SECONDS)
