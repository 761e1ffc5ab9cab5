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


def test_a_member_who_is_not_staff_is_told_why_the_admin_is_closed(world):
    """The dashboard's accounts are not staff: the admin says so and how to get in."""
    from allauth.account.models import EmailAddress
    from django.test import Client as HttpClient

    owner = world.home.owner
    owner.set_password("a sturdy passphrase 42")
    owner.save()
    EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)
    signed_in = login(owner, world.home.practice)
    page = signed_in.get("/admin/", follow=True).content.decode()
    assert f"{owner.email} is a CoachHub account but not a staff account" in page
    assert "createsuperuser" in page
    refused = HttpClient().post(
        "/admin/login/", {"username": owner.email, "password": "a sturdy passphrase 42"}
    )
    assert "not a staff account" in refused.content.decode()
    wrong = HttpClient().post("/admin/login/", {"username": owner.email, "password": "wrong"})
    assert "not a staff account" not in wrong.content.decode()  # says nothing of the account


def test_the_demo_prints_a_staff_account_that_opens_the_admin_on_its_practice_only(world):
    from io import StringIO

    from django.core.management import call_command
    from django.test import Client as HttpClient

    out = StringIO()
    call_command("demo", stdout=out)
    text = out.getvalue()
    assert "/admin/" in text and "createsuperuser" in text
    assert "staff@demo.coachhub.test / coachhub-demo" in text
    browser = HttpClient()
    signed_in = browser.post(
        "/admin/login/?next=/admin/",
        {"username": "staff@demo.coachhub.test", "password": "coachhub-demo", "next": "/admin/"},
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == "/admin/"
    assert browser.get("/admin/").status_code == 200
    clients = browser.get("/admin/engagements/client/")
    assert clients.status_code == 200
    assert OTHER_MARKER not in clients.content.decode()
    # Staff are not superusers and cannot change accounts (no way to make themselves one).
    from coachhub.models import User

    demo_owner = User.objects.get(email="owner@demo.coachhub.test")
    account = browser.get(f"/admin/coachhub/user/{demo_owner.pk}/change/")
    assert account.status_code == 200 and 'name="is_superuser"' not in account.content.decode()


def test_members_are_removed_on_the_members_page_not_deleted_in_the_admin(world):
    """An admin deletion would skip closing the member's booking links and offers."""
    admin = login(make_staff(world.home.owner, superuser=True), world.home.practice)
    membership = world.home.practice.memberships.get(user=world.home.coach)
    page = admin.get(f"/admin/coachhub/membership/{membership.pk}/delete/")
    assert page.status_code == 403
    practice_page = admin.get(f"/admin/coachhub/practice/{world.home.practice.pk}/change/")
    assert "memberships-0-DELETE" not in practice_page.content.decode()


def test_roles_change_on_the_members_page_which_keeps_an_owner(world):
    """The admin shows a member's role but cannot demote the last owner behind its back."""
    admin = login(make_staff(world.home.owner, superuser=True), world.home.practice)
    owner_membership = world.home.practice.memberships.get(user=world.home.owner)
    url = f"/admin/coachhub/membership/{owner_membership.pk}/change/"
    page = admin.get(url).content.decode()
    assert 'name="role"' not in page
    admin.post(url, {"role": "assistant"})
    owner_membership.refresh_from_db()
    assert owner_membership.role == "owner"
