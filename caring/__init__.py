"""Caring between sessions: prep questionnaires, the session workspace (agenda, private
notes, recaps) and commitments."""
