"""Integrations keep no models of their own yet; the calendars they read belong to sessions_app."""
