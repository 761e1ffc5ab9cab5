"""Stripe: the client wrapper, webhook signatures and view, and a local stand-in server."""
