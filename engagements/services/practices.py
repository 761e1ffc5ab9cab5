"""A new practice ready to coach in: the practice, its owner and the shipped templates."""

from __future__ import annotations

from django.db import transaction

from coachhub.models import Practice, User
from coachhub.services import practice_create
from coachhub.tenancy import practice_scope

from ..models import CollectionKind, CollectionTemplate

BUILTIN_TEMPLATES = [
    {
        "name": CollectionTemplate.COACHING,
        "kind": CollectionKind.ONE_TO_ONE,
        "agenda_items": [
            "Check-in: how are you arriving today?",
            "Review of commitments since last session",
            "Focus for today",
            "Exploration and options",
            "Commitments and next steps",
        ],
        "prep_questions": [
            "What would make this session most valuable for you?",
            "What has happened since we last spoke?",
            "Where did you get stuck on your commitments?",
        ],
    },
    {
        "name": CollectionTemplate.TEAM_WORKSHOP,
        "kind": CollectionKind.TEAM,
        "agenda_items": [
            "Welcome and objectives",
            "Core subject: input and discussion",
            "Exercise in small groups",
            "Shared reflections",
            "Action plan and follow-up",
        ],
        "prep_questions": [
            "What do you hope the team takes away from this workshop?",
            "What challenge related to the subject is most present for you?",
        ],
    },
]


def collection_templates_install(*, practice: Practice) -> None:
    """Give a practice the shipped templates (idempotent; edits are kept)."""
    existing = set(
        CollectionTemplate.objects.filter(practice=practice).values_list("name", flat=True)
    )
    CollectionTemplate.objects.bulk_create(
        [
            CollectionTemplate(practice=practice, is_builtin=True, **spec)
            for spec in BUILTIN_TEMPLATES
            if spec["name"] not in existing
        ]
    )


@transaction.atomic
def practice_set_up(
    *, owner: User, name: str, time_zone: str = "Europe/London", currency: str = "GBP"
) -> Practice:
    """A new practice ready to coach in: the practice, its owner and the shipped templates."""
    practice = practice_create(owner=owner, name=name, time_zone=time_zone, currency=currency)
    with practice_scope(practice):
        collection_templates_install(practice=practice)
    return practice
