"""Writes for engagements, split by topic; import from here (`from engagements import services`).

- `practices`: a new practice with the shipped collection templates
- `clients`: clients, found by e-mail (their identity in a practice), their portal account
- `contracts`: companies, seat contracts, seats (owners only)
- `engagements`: saving and changing an engagement
- `checklists`: an engagement's setup checklist
- `collections`: collections, participants and resources

The guided set-ups that end in sessions are in `sessions_app.services.engagement_setup`.
"""

from .checklists import (
    checklist_mark,
    checklist_seed,
    checklist_step_done,
    checklist_step_record,
    checklist_step_set,
)
from .clients import (
    CLIENT_FIELDS,
    NewClient,
    client_create,
    client_find_or_create,
    client_has_portal_user,
    client_lead_activate,
    client_portal_user_ensure,
    client_private_notes_update,
    client_resolve,
    client_update,
    clients_mark_alumni,
    clients_portal_users_ensure,
    seat_client_refuse,
)
from .collections import (
    collection_create,
    collection_resource_add,
    collection_resource_send,
    collection_update,
    participants_add,
    participants_link,
)
from .contracts import (
    CONTRACT_FIELDS,
    contract_create,
    contract_update,
    organization_create,
    organization_update,
    seat_assign,
)
from .engagements import engagement_add, engagement_update
from .practices import BUILTIN_TEMPLATES, collection_templates_install, practice_set_up

__all__ = [
    "BUILTIN_TEMPLATES",
    "CLIENT_FIELDS",
    "CONTRACT_FIELDS",
    "NewClient",
    "checklist_mark",
    "checklist_seed",
    "checklist_step_done",
    "checklist_step_record",
    "checklist_step_set",
    "client_create",
    "client_find_or_create",
    "client_lead_activate",
    "client_has_portal_user",
    "client_portal_user_ensure",
    "clients_portal_users_ensure",
    "client_private_notes_update",
    "client_resolve",
    "client_update",
    "clients_mark_alumni",
    "collection_create",
    "collection_resource_add",
    "collection_resource_send",
    "collection_templates_install",
    "collection_update",
    "contract_create",
    "contract_update",
    "engagement_add",
    "engagement_update",
    "organization_create",
    "organization_update",
    "participants_add",
    "participants_link",
    "practice_set_up",
    "seat_assign",
    "seat_client_refuse",
]
