"""Reads for engagements: what each member may see, and a client's seat.

Visibility (docs/product.md §1): owners and assistants see every client of the practice;
coaches see the clients they coach (as main coach, engagement coach or workshop
coach). Another practice's rows are never reachable: the scoped manager filters
them out and every `*_get_for_member` turns a miss into a 404.
"""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from coachhub.models import Membership, Practice
from coachhub.permissions import can, require

from .models import (
    OPEN_STEP_STATES,
    Client,
    Collection,
    CollectionParticipant,
    CollectionTemplate,
    Contract,
    Engagement,
    Organization,
    ResourceAudience,
    SeatAssignment,
)


def _get_or_404(queryset: QuerySet, pk) -> object:
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404(f"No {queryset.model._meta.verbose_name} found.") from None


# --- Clients -----------------------------------------------------------------
def clients_visible_to(membership: Membership) -> QuerySet[Client]:
    clients = Client.objects.filter(practice=membership.practice)
    if can(membership, "clients.see_all"):
        return clients
    user = membership.user_id
    coached_engagements = Engagement.objects.filter(
        practice=membership.practice, coach_id=user, client__isnull=False
    ).values("client_id")
    workshop_participants = CollectionParticipant.objects.filter(
        practice=membership.practice, collection__engagement__coach_id=user
    ).values("client_id")
    return clients.filter(
        Q(coach_id=user) | Q(pk__in=coached_engagements) | Q(pk__in=workshop_participants)
    )


def client_list(membership: Membership, *, search: str = "", status: str = "") -> QuerySet[Client]:
    clients = clients_visible_to(membership).select_related("coach", "organization")
    if search:
        clients = clients.filter(Q(name__icontains=search) | Q(email__icontains=search))
    if status:
        clients = clients.filter(status=status)
    return clients.order_by("name")


def client_get_for_member(membership: Membership, pk) -> Client:
    return _get_or_404(clients_visible_to(membership).select_related("coach", "organization"), pk)


def client_get_for_member_write(membership: Membership, pk) -> Client:
    """Every member may edit a client they can see (assistants keep contact details)."""
    return client_get_for_member(membership, pk)


def client_private_notes_for_member(membership: Membership, client: Client) -> str:
    require(membership, "clients.notes")
    return client.private_notes


# Features that do not apply to seat clients (docs/product.md §2); refused server-side.
SEAT_RESTRICTED_FEATURES = {
    "offers": "offers",
    "payment_plans": "payment plans",
    "booking_links_in_messages": "direct booking links in messages",
    "review_requests": "review requests",
    "monthly_package": "paid monthly packages",
}


def seat_client_refusal(client: Client, *, feature: str) -> str:
    """Why a feature does not apply to this client ("" if it does): seat clients' sessions
    come from their contract, so offers and payment plans are not for them."""
    seat = open_seat_of(client)
    if seat is None:
        return ""
    label = SEAT_RESTRICTED_FEATURES.get(feature, feature)
    return (
        f"{client.name} is on a company seat ({seat.contract.organization}); "
        f"{label} do not apply to seat clients — their sessions come from the "
        "contract's monthly allowance."
    )


def client_with_email(practice: Practice, email: str) -> Client | None:
    """The practice's client with this e-mail (a client's identity in a practice), or None."""
    return Client.objects.filter(practice=practice, email=email.strip().lower()).first()


def is_seat_client(practice: Practice, email: str) -> bool:
    """Whether this e-mail is a client on a company seat (their sessions come from it)."""
    client = client_with_email(practice, email)
    return client is not None and open_seat_of(client) is not None


def open_seat_of(client: Client) -> SeatAssignment | None:
    """The client's current seat, if any."""
    return (
        SeatAssignment.objects.filter(client=client, ended_on__isnull=True)
        .select_related("contract__organization")
        .first()
    )


# --- Organizations and contracts ------------------------------------------------
def organization_list(membership: Membership) -> QuerySet[Organization]:
    return (
        Organization.objects.filter(practice=membership.practice)
        .annotate(
            contract_count=Count("contracts", distinct=True),
            client_count=Count("clients", distinct=True),
        )
        .order_by("name")
    )


def organization_get_for_member(membership: Membership, pk) -> Organization:
    return _get_or_404(Organization.objects.filter(practice=membership.practice), pk)


def organization_get_for_member_write(membership: Membership, pk) -> Organization:
    organization = organization_get_for_member(membership, pk)
    require(membership, "companies.manage")
    return organization


def contract_list(membership: Membership) -> QuerySet[Contract]:
    return (
        Contract.objects.filter(practice=membership.practice)
        .select_related("organization")
        .annotate(seats_taken=Count("assignments", filter=Q(assignments__ended_on__isnull=True)))
        .order_by("-starts_on", "pk")
    )


def contract_get_for_member(membership: Membership, pk) -> Contract:
    return _get_or_404(contract_list(membership), pk)


def contract_get_for_member_write(membership: Membership, pk) -> Contract:
    contract = contract_get_for_member(membership, pk)
    require(membership, "companies.manage")
    return contract


# --- Engagements and collections -------------------------------------------------
def engagements_visible_to(membership: Membership) -> QuerySet[Engagement]:
    engagements = Engagement.objects.filter(practice=membership.practice)
    if can(membership, "clients.see_all"):
        return engagements
    return engagements.filter(coach_id=membership.user_id)


def engagement_list(
    membership: Membership, *, kind: str = "", status: str = ""
) -> QuerySet[Engagement]:
    engagements = engagements_visible_to(membership).select_related(
        "client", "coach", "organization"
    )
    if kind:
        engagements = engagements.filter(kind=kind)
    if status:
        engagements = engagements.filter(status=status)
    return engagements.annotate(
        open_steps=Count("steps", filter=Q(steps__state__in=OPEN_STEP_STATES))
    ).order_by("-created_at")


def engagement_get_for_member(membership: Membership, pk) -> Engagement:
    return _get_or_404(
        engagements_visible_to(membership).select_related("client", "coach", "organization"), pk
    )


def engagement_get_for_member_write(membership: Membership, pk) -> Engagement:
    engagement = engagement_get_for_member(membership, pk)
    require(membership, "engagements.change")
    return engagement


def collections_visible_to(membership: Membership) -> QuerySet[Collection]:
    return Collection.objects.filter(
        practice=membership.practice, engagement__in=engagements_visible_to(membership)
    )


def collection_get_for_member(membership: Membership, pk) -> Collection:
    return _get_or_404(
        collections_visible_to(membership).select_related("engagement", "template"), pk
    )


def collection_get_for_member_write(membership: Membership, pk) -> Collection:
    collection = collection_get_for_member(membership, pk)
    require(membership, "engagements.change")
    return collection


def resource_audiences(collection: Collection) -> dict[str, list[Client]]:
    """Whom a collection's resource can be e-mailed to: the engagement's client, and every
    participant when that is more people than the client (a team)."""
    client = collection.engagement.client
    participants = list(collection.participants.order_by("name", "pk"))
    audiences = {}
    if client is not None:
        audiences[ResourceAudience.CLIENT] = [client]
    if participants and participants != [client]:
        audiences[ResourceAudience.PARTICIPANTS] = participants
    return audiences


def collection_template_named(practice: Practice, name: str) -> CollectionTemplate | None:
    """One of the practice's collection templates, by name (the shipped ones by theirs)."""
    return CollectionTemplate.objects.filter(practice=practice, name=name).first()
