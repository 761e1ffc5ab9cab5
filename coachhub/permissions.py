"""Who may do what: one table of named abilities, the roles that have each, and the refusal.

Services, the write variants of selectors, the API base and templates all read this
table (`can`, `require`, the `can` template filter), so a role rule is written once.
Abilities are `rules` predicates registered under their name, so `rules.test_rule`
and its `{% test_rule %}` tag answer the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import rules
from django.core.exceptions import PermissionDenied

from .models import Membership, Role


@dataclass(frozen=True)
class Ability:
    roles: frozenset[str]
    refusal: str


def _roles(*roles: Role) -> frozenset[str]:
    return frozenset(role.value for role in roles)


OWNER = _roles(Role.OWNER)
COACHES = _roles(Role.OWNER, Role.COACH)  # owners coach too
EVERYONE = _roles(Role.OWNER, Role.COACH, Role.ASSISTANT)

ABILITIES: dict[str, Ability] = {
    # The practice itself: members, settings, its Stripe account and its integrations.
    "practice.manage": Ability(OWNER, "Only the practice owner can do this."),
    # Stripe: connect it, invoice companies, void invoices, process events again.
    # Members: invite by e-mail, resend or revoke an invitation, change a role, remove.
    "members.manage": Ability(OWNER, "Only an owner invites, changes and removes members."),
    "payments.manage": Ability(OWNER, "Only an owner manages payments and company invoices."),
    "companies.manage": Ability(OWNER, "Only the practice owner manages companies and contracts."),
    # Slack and the other outside services: connect, disconnect, what the workspace allows.
    # Everyone else sees the Integrations page read-only.
    "integrations.manage": Ability(
        OWNER, "Only the practice owner connects, changes and disconnects integrations."
    ),
    # Owners and assistants see every client (assistants schedule for everyone);
    # coaches see their own.
    "clients.see_all": Ability(
        _roles(Role.OWNER, Role.ASSISTANT), "Coaches see the clients they coach."
    ),
    # Who can be a client's, an engagement's or an offer's coach.
    "clients.coach": Ability(COACHES, "Choose a coach (or owner) of this practice."),
    # A coach's new clients and engagements are theirs unless they pick another coach.
    "clients.coached_by_default": Ability(
        _roles(Role.COACH), "Only coaches are preselected as the coach."
    ),
    "clients.notes": Ability(COACHES, "Assistants cannot read or write private notes."),
    "engagements.change": Ability(COACHES, "Assistants can view engagements but not change them."),
    # Assistants schedule for everyone.
    "sessions.schedule": Ability(EVERYONE, "Only members of the practice schedule sessions."),
    # A session passes to another coach (a member left, or stopped coaching).
    "sessions.reassign": Ability(OWNER, "Only an owner gives a session to another coach."),
    "sessions.override_allowance": Ability(
        OWNER, "Only an owner can book beyond a seat's allowance."
    ),
    # A coach's own set-up: hours, overrides, booking links, calendars, feed, offers.
    "availability.manage": Ability(
        COACHES, "Only coaches and owners set availability, links and calendars."
    ),
    "availability.manage_anyones": Ability(
        OWNER, "Coaches set up their own availability; an owner can for anyone."
    ),
    "offers.manage": Ability(COACHES, "Offers belong to coaches and owners."),
}


def _has_role_in(roles: frozenset[str]):
    @rules.predicate
    def check(membership: Membership | None) -> bool:
        return membership is not None and membership.role in roles

    return check


for _name, _ability in ABILITIES.items():
    rules.add_rule(_name, _has_role_in(_ability.roles))


def can(membership: Membership | None, ability: str) -> bool:
    """Whether this member (None: nobody signed in, or not a member) has the ability."""
    if ability not in ABILITIES:
        raise KeyError(f"No ability {ability!r} in the permission table")
    return rules.test_rule(ability, membership)


def refusal(ability: str) -> str:
    return ABILITIES[ability].refusal


def require(membership: Membership | None, ability: str) -> None:
    """Refuse with the ability's message (a 403 on pages and in the API)."""
    if not can(membership, ability):
        raise PermissionDenied(refusal(ability))


def roles_with(ability: str) -> frozenset[str]:
    """The roles that have an ability, for queries (`memberships__role__in=`)."""
    return ABILITIES[ability].roles
