"""Reading a coach's external calendar (an ICS "secret address") into busy time.

Fetching honours ETag (304 → nothing to do) and a content hash (same bytes → nothing
to do). Recurring events are expanded with recurring-ical-events; all-day events and
events marked free (TRANSP:TRANSPARENT) follow the coach's choice. Nothing here runs
in a web request: a periodic task calls it and stores the result.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import recurring_ical_events
import requests
from icalendar import Calendar

MAX_FEED_BYTES = 20 * 1024 * 1024
FETCH_TIMEOUT_SECONDS = 20


class FeedError(Exception):
    """A fetch or parse failure, with a message a coach can act on."""


@dataclass(frozen=True)
class Fetched:
    not_modified: bool
    body: bytes = b""
    etag: str = ""

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def _refuse_private_address(url: str) -> None:
    """A calendar URL must point at the internet, not at our own network."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        raise FeedError(f"The calendar's host {host!r} could not be found.") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved:
            raise FeedError("The calendar address points at a private network; use its public URL.")


def fetch(url: str, *, etag: str = "", allow_private: bool = False) -> Fetched:
    if urlsplit(url).scheme not in ("http", "https"):
        raise FeedError("Use the calendar's https:// (or webcal://) address.")
    if not allow_private:
        _refuse_private_address(url)
    headers = {"Accept": "text/calendar", "User-Agent": "CoachHub calendar sync"}
    if etag:
        headers["If-None-Match"] = etag
    try:
        with requests.get(
            url, headers=headers, timeout=FETCH_TIMEOUT_SECONDS, stream=True
        ) as response:
            if response.status_code == 304:
                return Fetched(not_modified=True, etag=etag)
            if response.status_code in (401, 403, 404, 410):
                raise FeedError(
                    f"The calendar answered {response.status_code}: the secret address may "
                    "have been reset. Copy it again from your calendar's settings."
                )
            if response.status_code >= 400:
                raise FeedError(f"The calendar server answered {response.status_code}; will retry.")
            body = b""
            for chunk in response.iter_content(64 * 1024):
                body += chunk
                if len(body) > MAX_FEED_BYTES:
                    raise FeedError("The calendar is larger than 20 MB; export a smaller one.")
            return Fetched(not_modified=False, body=body, etag=response.headers.get("ETag", ""))
    except requests.RequestException as error:
        raise FeedError(f"Could not reach the calendar: {error.__class__.__name__}.") from None


def _aware(value, zone: ZoneInfo) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    return dt.datetime.combine(value, dt.time(), tzinfo=zone)


def busy_spans(
    body: bytes,
    *,
    start: dt.datetime,
    end: dt.datetime,
    zone: ZoneInfo,
    all_day_busy: bool,
    transparent_blocks: bool,
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Busy [start, end) spans in UTC from an ICS body, recurring events expanded.

    Floating times and all-day dates are read in the coach's zone.
    """
    try:
        calendar = Calendar.from_ical(body)
        occurrences = recurring_ical_events.of(calendar).between(start, end)
    except Exception as error:  # icalendar raises ValueError and friends on bad input
        raise FeedError(
            f"The calendar file could not be read ({error.__class__.__name__})."
        ) from None
    spans = []
    for event in occurrences:
        if event.name != "VEVENT":
            continue
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT" and not transparent_blocks:
            continue
        dtstart = event.get("DTSTART")
        if dtstart is None:
            continue
        begins = dtstart.dt
        all_day = not isinstance(begins, dt.datetime)
        if all_day and not all_day_busy:
            continue
        if event.get("DTEND") is not None:
            finishes = event["DTEND"].dt
        elif event.get("DURATION") is not None:
            finishes = begins + event["DURATION"].dt
        else:
            finishes = begins + dt.timedelta(days=1) if all_day else begins
        span_start = _aware(begins, zone).astimezone(dt.UTC)
        span_end = _aware(finishes, zone).astimezone(dt.UTC)
        if span_end > span_start:
            spans.append((span_start, span_end))
    return spans
