"""What every receiver checks before it reads a body: the length the sender declares."""

from __future__ import annotations

from django.http import HttpRequest


def declared_length(request: HttpRequest) -> int:
    """The Content-Length, so an oversize body is refused before it is read."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # Django reads no body for a length it cannot read
