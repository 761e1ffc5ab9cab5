"""Amounts on the stand-in's pages, in the currency's own minor unit as Stripe counts them.

Its own copy of the idea (the stand-in imports nothing from the product): whole yen for
JPY and other zero-decimal currencies, thousandths for KWD and its kind, cents otherwise.
https://docs.stripe.com/currencies#zero-decimal
"""

from __future__ import annotations

from decimal import Decimal

ZERO_DECIMAL = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".split())


def money_shown(minor: int, currency: str) -> str:
    """`1,250.00 GBP`, `5,000 JPY`: an integer Stripe amount as a page writes it."""
    code = currency.upper()
    places = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
    amount = (Decimal(minor) / 10**places).quantize(Decimal(1).scaleb(-places))
    return f"{amount:,.{places}f} {code}"
