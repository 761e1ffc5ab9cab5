"""Offers, Stripe purchases and the credit ledger (the billing issue builds these)."""
