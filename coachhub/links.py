"""Absolute links for e-mails, invites and API answers, built on the configured SITE_URL."""

from __future__ import annotations

from django.conf import settings


def absolute(path: str) -> str:
    """`/sessions/…/` → `https://coachhub.example.com/sessions/…/` (what an e-mail can link to)."""
    return f"{settings.SITE_URL}{path}"
