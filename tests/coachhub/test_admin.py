"""The admin: superusers see every practice; staff who are not superusers see only theirs."""

import pytest
from django.contrib.auth.models import Permission

from ..kit.http import login
from ..kit.world import OTHER_MARKER

pytestmark = pytest.mark.django_db


def make_staff(user, *, superuser=False):
    user.is_staff = True
    user.is_superuser = superuser
    user.save()
    user.user_permissions.set(Permission.objects.all())
    return user


def test_staff_see_only_their_practices_rows(world):
    staff = login(make_staff(world.home.coach), world.home.practice)
    for url in (
        "/admin/engagements/client/",
        "/admin/engagements/engagement/",
        "/admin/coachhub/practice/",
        "/admin/coachhub/membership/",
        "/admin/sessions_app/session/",
        "/admin/coachhub/user/",
    ):
        page = staff.get(url)
        assert page.status_code == 200, url
        assert OTHER_MARKER not in page.content.decode(), url
    own = world.home.objects["client"]
    assert staff.get(f"/admin/engagements/client/{own.pk}/change/").status_code == 200
    search = staff.get("/admin/engagements/client/?q=client").content.decode()
    assert world.home.objects["client"].name in search


def test_superusers_see_every_practice(world):
    admin = login(make_staff(world.home.owner, superuser=True), world.home.practice)
    page = admin.get("/admin/engagements/client/").content.decode()
    assert OTHER_MARKER in page and world.home.objects["client"].name in page
    other = world.other.objects["client"]
    assert admin.get(f"/admin/engagements/client/{other.pk}/change/").status_code == 200


def test_staff_adding_a_collection_participant_gets_the_parent_practice(world):
    staff = login(make_staff(world.home.owner), world.home.practice)
    page = staff.get("/admin/engagements/collection/add/").content.decode()
    assert "participant_links-__prefix__-practice" not in page
