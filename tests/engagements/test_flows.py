"""The three guided engagement flows, as a coach would walk them in the dashboard."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_scopes import scopes_disabled

from engagements.models import Client, Engagement, EngagementKind, Funding, StepState
from sessions_app.models import Session, SessionSource, SessionStatus

from ..kit.http import can_log_in

pytestmark = pytest.mark.django_db


def steps_of(engagement):
    with scopes_disabled():
        return {step.key: (step.state, step.reason) for step in engagement.steps.all()}


def latest(kind):
    with scopes_disabled():
        return Engagement.objects.filter(kind=kind).latest("created_at")


def future_local(days=7, hour=10):
    day = timezone.now().date() + dt.timedelta(days=days)
    return f"{day:%Y-%m-%d}T{hour:02d}:00"


def test_per_session_flow_with_a_new_client(world, as_member):
    coach = as_member("coach")
    response = coach.post(
        "/engagements/new/per-session/",
        {
            "new_client_name": "Nora New",
            "new_client_email": "NORA@Example.com",
            "coach": world.home.coach.pk,
            "first_session_at": future_local(),
            "send_platform_invite": "on",
        },
    )
    engagement = latest(EngagementKind.PER_SESSION)
    assert response.status_code == 302 and response["Location"] == engagement.get_absolute_url()
    with scopes_disabled():
        client = Client.objects.get(email="nora@example.com")
        assert client.coach == world.home.coach
        collection = engagement.collection
        assert collection.template.name == "Coaching / Mentorship"
        assert list(collection.participants.all()) == [client]
        session = Session.objects.get(engagement=engagement)
    assert session.status == SessionStatus.SCHEDULED
    assert session.ends_at - session.starts_at == dt.timedelta(minutes=55)
    # Typed at 10:00 in the practice zone (London).
    assert session.starts_at.astimezone(world.home.practice.zone).hour == 10
    steps = steps_of(engagement)
    assert list(steps) == [
        "client",
        "slack_invite",
        "collection",
        "slack_channel",
        "first_session",
        "session_url",
        "calendar_invite",
    ]
    assert steps["client"][0] == StepState.DONE
    assert steps["slack_invite"] == (StepState.NOT_APPLICABLE, steps["slack_invite"][1])
    assert "Slack is not connected" in steps["slack_invite"][1]
    assert steps["session_url"][0] == StepState.DONE
    assert session.get_absolute_url() in steps["session_url"][1]
    assert steps["calendar_invite"][0] == StepState.PENDING
    page = coach.get(engagement.get_absolute_url()).content.decode()
    assert "Set-up checklist" in page and "Slack is not connected" in page
    assert coach.get(session.get_absolute_url()).status_code == 200


def test_per_session_flow_without_our_invite_and_without_a_time(world, as_member):
    owner = as_member("owner")
    client = world.home.objects["client"]
    owner.post(
        "/engagements/new/per-session/",
        {
            "client": client.pk,
            "coach": world.home.coach.pk,
        },
    )
    engagement = latest(EngagementKind.PER_SESSION)
    steps = steps_of(engagement)
    assert steps["calendar_invite"][0] == StepState.NOT_APPLICABLE
    with scopes_disabled():
        session = Session.objects.get(engagement=engagement)
    assert session.status == SessionStatus.TO_SCHEDULE and session.starts_at is None


def test_per_session_for_a_seat_client_is_funded_by_the_seat(world, as_member):
    owner = as_member("owner")
    seat_client = world.home.objects["seat_client"]
    owner.post(
        "/engagements/new/per-session/",
        {
            "client": seat_client.pk,
            "coach": world.home.coach.pk,
            "first_session_at": future_local(3),
        },
    )
    engagement = latest(EngagementKind.PER_SESSION)
    assert engagement.funding == Funding.SEAT
    assert engagement.session_minutes == 55
    with scopes_disabled():
        session = Session.objects.get(engagement=engagement)
    assert session.consumes == "seat_month" and session.seat_id


def test_monthly_package_flow_generates_sessions_within_the_hours(world, as_member):
    owner = as_member("owner")
    start = timezone.now().date() + dt.timedelta(days=1)
    response = owner.post(
        "/engagements/new/monthly-package/",
        {
            "new_client_name": "Pat Package",
            "new_client_email": "pat@example.org",
            "coach": world.home.coach.pk,
            "hours_per_month": "2",
            "cadence": "weekly",
            "session_minutes": "60",
            "preferred_weekday": "1",
            "preferred_time": "18:30",
            "starts_on": start.isoformat(),
            "months": "3",
        },
    )
    assert response.status_code == 302
    engagement = latest(EngagementKind.MONTHLY_PACKAGE)
    with scopes_disabled():
        sessions = list(Session.objects.filter(engagement=engagement).order_by("starts_at"))
    assert sessions, "sessions are generated"
    coach_zone = world.home.coach.zone if hasattr(world.home.coach, "zone") else None
    from zoneinfo import ZoneInfo

    coach_zone = ZoneInfo(world.home.coach.time_zone)
    per_month = {}
    for session in sessions:
        local = session.starts_at.astimezone(coach_zone)
        assert local.weekday() == 1 and (local.hour, local.minute) == (18, 30)
        assert session.source == SessionSource.RECURRING
        per_month[(local.year, local.month)] = per_month.get((local.year, local.month), 0) + 1
    assert max(per_month.values()) <= 2  # 2 hours of 60-minute sessions a month
    steps = steps_of(engagement)
    assert list(steps) == [
        "client",
        "cadence",
        "collection",
        "slack_invite",
        "slack_channel",
        "recurring_sessions",
    ]
    assert steps["recurring_sessions"][0] == StepState.DONE
    assert steps["cadence"][0] == StepState.DONE


def test_monthly_package_refused_for_seat_clients(world, as_member):
    owner = as_member("owner")
    response = owner.post(
        "/engagements/new/monthly-package/",
        {
            "client": world.home.objects["seat_client"].pk,
            "coach": world.home.coach.pk,
            "hours_per_month": "2",
            "cadence": "biweekly",
            "session_minutes": "60",
            "months": "3",
        },
    )
    assert response.status_code == 200
    assert "company seat" in response.content.decode()
    with scopes_disabled():
        assert not Engagement.objects.filter(kind=EngagementKind.MONTHLY_PACKAGE).exists()


def test_a_refused_flow_leaves_no_new_client_behind(world, as_member):
    owner = as_member("owner")
    response = owner.post(
        "/engagements/new/monthly-package/",
        {
            "new_client_name": "Half Made",
            "new_client_email": "half@example.org",
            "coach": world.home.coach.pk,
            "hours_per_month": "0.5",
            "cadence": "weekly",
            "session_minutes": "25",
            "months": "3",
        },
    )
    assert response.status_code == 302  # 0.5 h covers one 25-minute session: accepted
    response = owner.post(
        "/engagements/new/per-session/",
        {
            "new_client_name": "Seat Less",
            "new_client_email": "seatless@example.org",
            "coach": world.home.coach.pk,
            "first_session_at": "2020-01-01T10:00",
            "allowance_override_reason": "x",
            "send_platform_invite": "on",
        },
        HTTP_HOST="testserver",
    )
    with scopes_disabled():
        assert Client.objects.filter(email="half@example.org").exists()
    coach = as_member("coach")
    refused = coach.post(
        "/engagements/new/per-session/",
        {
            "new_client_name": "Never Saved",
            "new_client_email": "never@example.org",
            "coach": world.home.coach.pk,
            "allowance_override_reason": "coaches cannot override",
        },
    )
    assert refused.status_code == 200
    assert "Only an owner" in refused.content.decode()
    with scopes_disabled():
        assert not Client.objects.filter(email="never@example.org").exists()


def test_team_workshop_flow_with_lines_and_csv(world, as_member):
    owner = as_member("owner")
    csv = SimpleUploadedFile(
        "team.csv",
        b"Email,Name\nbea@acme.test,Bea Barnes\nada@acme.test,Ada Again\n",
        content_type="text/csv",
    )
    response = owner.post(
        "/engagements/new/team-workshop/",
        {
            "title": "Conflict workshop",
            "core_subject": "Healthy conflict",
            "organization": world.home.objects["organization"].pk,
            "coach": world.home.coach.pk,
            "starts_at": future_local(10, 14),
            "session_minutes": "90",
            "participants_text": "Ada Lovelace <ada@acme.test>\ncy@acme.test",
            "participants_csv": csv,
            "template": "",
            "agenda": "Opening\nRole plays\nAction plan",
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    engagement = latest(EngagementKind.TEAM_WORKSHOP)
    with scopes_disabled():
        collection = engagement.collection
        emails = sorted(collection.participants.values_list("email", flat=True))
        assert collection.kind == "team"
        assert collection.agenda_items == ["Opening", "Role plays", "Action plan"]
    assert emails == ["ada@acme.test", "bea@acme.test", "cy@acme.test"]
    steps = steps_of(engagement)
    assert steps["participants"][0] == StepState.DONE
    assert steps["participants_added"][0] == StepState.DONE
    assert steps["workshop_session"][0] == StepState.DONE
    assert steps["follow_up"][0] == StepState.PENDING
    # Adding participants later, and a follow-up resource.
    owner.post(
        f"/collections/{collection.pk}/participants/", {"participants_text": "Dee <dee@acme.test>"}
    )
    owner.post(
        f"/collections/{collection.pk}/resources/",
        {"title": "Action plan", "kind": "action_plan", "url": "https://ex.org/plan"},
    )
    page = owner.get(collection.get_absolute_url()).content.decode()
    assert "dee@acme.test" in page and "Action plan" in page


def test_team_workshop_from_the_shipped_template(world, as_member):
    owner = as_member("owner")
    with scopes_disabled():
        from engagements.models import CollectionTemplate

        template = CollectionTemplate.objects.get(
            practice=world.home.practice, name="Team workshop"
        )
    owner.post(
        "/engagements/new/team-workshop/",
        {
            "title": "Kick-off",
            "core_subject": "Goals",
            "coach": world.home.owner.pk,
            "session_minutes": "120",
            "template": template.pk,
        },
    )
    engagement = latest(EngagementKind.TEAM_WORKSHOP)
    with scopes_disabled():
        assert engagement.collection.agenda_items == template.agenda_items
    assert steps_of(engagement)["workshop_session"][0] == StepState.PENDING


def test_checklist_step_marked_done_by_htmx(world, as_member):
    owner = as_member("owner")
    engagement = world.home.objects["engagement"]
    response = owner.post(
        f"/engagements/{engagement.pk}/steps/calendar_invite/",
        {"state": "done"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert 'id="step-calendar_invite"' in response.content.decode()
    assert steps_of(engagement)["calendar_invite"][0] == StepState.DONE
    failed = owner.post(
        f"/engagements/{engagement.pk}/steps/calendar_invite/",
        {"state": "failed"},
        HTTP_HX_REQUEST="true",
    )
    assert failed.status_code == 400 and "Say why" in failed.content.decode()
    assert (
        owner.post(f"/engagements/{engagement.pk}/steps/nope/", {"state": "done"}).status_code
        == 404
    )


def test_demo_command_is_idempotent_and_prints_a_login(db):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("demo", stdout=out)
    call_command("demo", stdout=out)
    text = out.getvalue()
    assert "owner@demo.coachhub.test / coachhub-demo" in text
    with scopes_disabled():
        kinds = set(Engagement.objects.values_list("kind", flat=True))
        assert kinds == {"per_session", "monthly_package", "team_workshop"}
        count = Engagement.objects.count()
    call_command("demo", stdout=StringIO())
    with scopes_disabled():
        assert Engagement.objects.count() == count
    assert can_log_in("owner@demo.coachhub.test", "coachhub-demo")


def test_scheduling_fills_the_session_waiting_for_a_time(world, as_member):
    owner = as_member("owner")
    owner.post(
        "/engagements/new/team-workshop/",
        {
            "title": "Later",
            "core_subject": "Planning",
            "coach": world.home.owner.pk,
            "session_minutes": "60",
            "agenda": "One",
        },
    )
    engagement = latest(EngagementKind.TEAM_WORKSHOP)
    with scopes_disabled():
        waiting = Session.objects.get(engagement=engagement)
    assert waiting.status == SessionStatus.TO_SCHEDULE
    response = owner.post(
        f"/engagements/{engagement.pk}/sessions/",
        {"starts_at": future_local(12, 9), "minutes": "60"},
    )
    assert response.status_code == 302
    with scopes_disabled():
        sessions = list(Session.objects.filter(engagement=engagement))
    assert [s.pk for s in sessions] == [waiting.pk]  # same record, same URL
    assert sessions[0].status == SessionStatus.SCHEDULED
    assert steps_of(engagement)["workshop_session"][0] == StepState.DONE
    # A second scheduling adds a new session.
    owner.post(
        f"/engagements/{engagement.pk}/sessions/",
        {"starts_at": future_local(19, 9), "minutes": "60"},
    )
    with scopes_disabled():
        assert Session.objects.filter(engagement=engagement).count() == 2
