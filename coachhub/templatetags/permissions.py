"""The permission table in templates: `{% if membership|can:"engagements.change" %}`."""

from django import template

from coachhub.permissions import can as member_can

register = template.Library()


@register.filter
def can(membership, ability: str) -> bool:
    return member_can(membership, ability)
