"""Amounts in a currency's smallest unit, as Stripe counts them.

Stripe sends and expects integers in the currency's minor unit: cents for GBP, but
whole yen for JPY (a zero-decimal currency) and thousandths for KWD. Converting with a
fixed ×100 would charge a Tokyo client a hundred times the price.
https://docs.stripe.com/currencies#zero-decimal
"""

from __future__ import annotations

from decimal import Decimal

ZERO_DECIMAL = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".split())


def decimals(currency: str) -> int:
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def to_minor(amount: Decimal, currency: str) -> int:
    """A price as Stripe's integer amount."""
    return int((Decimal(amount) * 10 ** decimals(currency)).quantize(Decimal("1")))


def from_minor(minor: int, currency: str) -> Decimal:
    places = decimals(currency)
    return (Decimal(minor) / 10**places).quantize(Decimal(1).scaleb(-places))


def money_shown(minor: int, currency: str) -> str:
    """`1,250.00 GBP`, `5,000 JPY`: what pages and e-mails write."""
    places = decimals(currency)
    return f"{from_minor(minor, currency):,.{places}f} {currency.upper()}"
