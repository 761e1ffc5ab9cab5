"""Writes of caring between sessions, by topic: `prep`, `workspace` (agenda, notes,
recaps), `commitments`."""

from .commitments import (
    commitment_create,
    commitment_done_by_client,
    commitment_reminders_claim,
    commitment_status_set,
    commitments_flag_missed,
)
from .prep import prep_answers_save, prep_open_for_answers, prep_send, session_prep_ensure
from .workspace import (
    recap_save,
    recap_share,
    session_agenda_update,
    session_notes_update,
)

__all__ = [
    "commitment_create",
    "commitment_done_by_client",
    "commitment_reminders_claim",
    "commitment_status_set",
    "commitments_flag_missed",
    "prep_answers_save",
    "prep_open_for_answers",
    "prep_send",
    "recap_save",
    "recap_share",
    "session_agenda_update",
    "session_notes_update",
    "session_prep_ensure",
]
