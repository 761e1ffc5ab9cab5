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


def test_staff_see_only_their_members_e_mail_addresses_and_two_factor_keys(world):
    """allauth's own admins hold rows of people, not practices: staff see their members'."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator

    home_user, other_user = world.home.coach, world.other.coach
    for user in (home_user, other_user):
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        Authenticator.objects.create(user=user, type=Authenticator.Type.RECOVERY_CODES, data={})
    staff = login(make_staff(world.home.owner), world.home.practice)
    for url, model in (
        ("/admin/account/emailaddress/", EmailAddress),
        ("/admin/mfa/authenticator/", Authenticator),
    ):
        page = staff.get(url).content.decode()
        assert str(home_user) in page and OTHER_MARKER not in page, url
        mine = model.objects.get(user=home_user)
        theirs = model.objects.get(user=other_user)
        assert staff.get(f"{url}{mine.pk}/change/").status_code == 200, url
        assert staff.get(f"{url}{theirs.pk}/change/").status_code == 404, url
