"""The credit ledger: append-only, a balance that is a sum, never negative unless an
explicit override says why, and each effect recorded once."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_scopes import scopes_disabled

from sessions_app.ledger import credit_balance, credit_entry_add
from sessions_app.models import CreditEntry, CreditKind


@pytest.fixture
def engagement(world):
    return world.home.objects["engagement"]  # the world granted it 5 credits


@pytest.mark.django_db
def test_balance_is_the_sum_and_an_effect_counts_once(engagement):
    with scopes_disabled():
        assert credit_balance(engagement) == 5
        entry = credit_entry_add(
            engagement=engagement, kind=CreditKind.CONSUME, amount=-2, effect_key="consume:x"
        )
        assert entry is not None
        again = credit_entry_add(
            engagement=engagement, kind=CreditKind.CONSUME, amount=-2, effect_key="consume:x"
        )
        assert again is None
        assert credit_balance(engagement) == 3


@pytest.mark.django_db
def test_the_balance_never_goes_negative_without_an_override(engagement):
    with scopes_disabled():
        with pytest.raises(ValidationError, match="Not enough session credits: 5 left, 6 needed"):
            credit_entry_add(
                engagement=engagement, kind=CreditKind.CONSUME, amount=-6, effect_key="too-many"
            )
        assert credit_balance(engagement) == 5
        entry = credit_entry_add(
            engagement=engagement,
            kind=CreditKind.ADJUST,
            amount=-6,
            effect_key="owner-goodwill",
            override_reason="Extra session agreed with the client",
        )
        assert entry.override_reason == "Extra session agreed with the client"
        assert credit_balance(engagement) == -1


@pytest.mark.django_db
def test_entries_cannot_be_changed_or_deleted(engagement):
    with scopes_disabled():
        entry = CreditEntry.objects.filter(engagement=engagement).first()
        entry.amount = 50
        with pytest.raises(ValidationError, match="append-only"):
            entry.save()
        with pytest.raises(ValidationError, match="append-only"):
            entry.delete()
        assert credit_balance(engagement) == 5
