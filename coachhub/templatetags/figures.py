"""Filters that write figures the way the metrics and billing pages show them."""

from django import template

from coachhub.money import money_shown

register = template.Library()


@register.filter
def money(minor: int | None, currency: str) -> str:
    """`{{ 125000|money:"GBP" }}` → `1,250.00 GBP` (amounts are kept in minor units)."""
    return "—" if minor is None else money_shown(minor, currency)


@register.filter
def percent(share: float | None) -> str:
    """`{{ 0.375|percent }}` → `38%`; no share (nothing to divide by) → `—`."""
    return "—" if share is None else f"{share:.0%}"
