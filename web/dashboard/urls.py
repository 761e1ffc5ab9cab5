"""The coach dashboard's pages (signed-in members; the tenant middleware scopes each request)."""

from django.urls import path

from web.dashboard import (
    availability,
    billing,
    caring,
    clients,
    engagements,
    home,
    integrations,
    members,
    sessions,
    slack_posts,
)

urlpatterns = [
    path("", home.home, name="home"),
    path("dashboard/", home.dashboard, name="dashboard"),
    path("dashboard/metrics/", home.metrics, name="metrics"),
    path("dashboard/integrations/", integrations.integrations, name="integrations"),
    path("dashboard/integrations/slack/install/", integrations.slack_install, name="slack_install"),
    path(
        "dashboard/integrations/slack/callback/",
        integrations.slack_callback,
        name="slack_callback",
    ),
    path("dashboard/integrations/slack/token/", integrations.slack_token, name="slack_token"),
    path("dashboard/integrations/slack/plan/", integrations.slack_plan, name="slack_plan"),
    path(
        "dashboard/integrations/slack/disconnect/",
        integrations.slack_disconnect,
        name="slack_disconnect",
    ),
    path("practice/new/", home.practice_create_view, name="practice_create"),
    path("practice/switch/", home.practice_switch, name="practice_switch"),
    path("practice/settings/", home.practice_settings, name="practice_settings"),
    path("practice/slack/posts/", slack_posts.slack_posts, name="slack_posts"),
    path("practice/members/", members.members, name="members"),
    path(
        "practice/members/<int:membership_pk>/role/",
        members.membership_role,
        name="membership_role",
    ),
    path(
        "practice/members/<int:membership_pk>/remove/",
        members.membership_remove,
        name="membership_remove",
    ),
    path(
        "practice/invitations/<int:invitation_pk>/",
        members.invitation_action,
        name="invitation_action",
    ),
    path("practice/members/reassign/", members.sessions_reassign_all, name="sessions_reassign_all"),
    path("practice/api-tokens/", home.api_tokens, name="api_tokens"),
    path("account/", home.my_account, name="my_account"),
    path("clients/", clients.client_list, name="client_list"),
    path("clients/new/", clients.client_create, name="client_create"),
    path("clients/<int:client_pk>/", clients.client_detail, name="client_detail"),
    path("clients/<int:client_pk>/edit/", clients.client_edit, name="client_edit"),
    path("clients/<int:client_pk>/notes/", clients.client_notes, name="client_notes"),
    path("companies/", clients.organization_list, name="organization_list"),
    path("companies/new/", clients.organization_create, name="organization_create"),
    path(
        "companies/<int:organization_pk>/",
        clients.organization_detail,
        name="organization_detail",
    ),
    path(
        "companies/<int:organization_pk>/edit/",
        clients.organization_edit,
        name="organization_edit",
    ),
    path("contracts/new/", clients.contract_create, name="contract_create"),
    path("contracts/<int:contract_pk>/", clients.contract_detail, name="contract_detail"),
    path("contracts/<int:contract_pk>/edit/", clients.contract_edit, name="contract_edit"),
    path(
        "contracts/<int:contract_pk>/statement/",
        clients.contract_statement,
        name="contract_statement",
    ),
    path("engagements/", engagements.engagement_list, name="engagement_list"),
    path("engagements/new/", engagements.engagement_new, name="engagement_new"),
    path(
        "engagements/new/per-session/",
        engagements.engagement_create_per_session,
        name="engagement_create_per_session",
    ),
    path(
        "engagements/new/monthly-package/",
        engagements.engagement_create_monthly_package,
        name="engagement_create_monthly_package",
    ),
    path(
        "engagements/new/team-workshop/",
        engagements.engagement_create_team_workshop,
        name="engagement_create_team_workshop",
    ),
    path(
        "engagements/<int:engagement_pk>/", engagements.engagement_detail, name="engagement_detail"
    ),
    path(
        "engagements/<int:engagement_pk>/schedule/",
        engagements.engagement_schedule,
        name="engagement_schedule",
    ),
    path(
        "engagements/<int:engagement_pk>/edit/", engagements.engagement_edit, name="engagement_edit"
    ),
    path(
        "engagements/<int:engagement_pk>/steps/<slug:step_key>/",
        engagements.checklist_step,
        name="checklist_step",
    ),
    path("engagements/<int:engagement_pk>/sessions/", engagements.session_add, name="session_add"),
    path(
        "engagements/<int:engagement_pk>/slack/retry/",
        engagements.engagement_slack_retry,
        name="engagement_slack_retry",
    ),
    path(
        "collections/<int:collection_pk>/", engagements.collection_detail, name="collection_detail"
    ),
    path(
        "collections/<int:collection_pk>/participants/",
        engagements.collection_participants_add,
        name="collection_participants_add",
    ),
    path(
        "collections/<int:collection_pk>/resources/",
        engagements.collection_resource_add,
        name="collection_resource_add",
    ),
    path(
        "collections/<int:collection_pk>/resources/send/",
        engagements.collection_resource_send,
        name="collection_resource_send",
    ),
    path("sessions/<uuid:session_uuid>/", sessions.session_detail, name="session_detail"),
    path(
        "sessions/<uuid:session_uuid>/reschedule/",
        sessions.session_reschedule_view,
        name="session_reschedule",
    ),
    path("sessions/<uuid:session_uuid>/coach/", members.session_coach, name="session_coach"),
    path("sessions/<uuid:session_uuid>/agenda/", caring.session_agenda_view, name="session_agenda"),
    path("sessions/<uuid:session_uuid>/notes/", caring.session_notes_view, name="session_notes"),
    path("sessions/<uuid:session_uuid>/recap/", caring.session_recap_view, name="session_recap"),
    path(
        "sessions/<uuid:session_uuid>/commitments/",
        caring.commitment_create_view,
        name="commitment_create",
    ),
    path(
        "commitments/<int:commitment_pk>/status/",
        caring.commitment_status_view,
        name="commitment_status",
    ),
    path(
        "sessions/<uuid:session_uuid>/status/", sessions.session_status_view, name="session_status"
    ),
    path(
        "engagements/<int:engagement_pk>/schedule.ics",
        sessions.engagement_schedule_ics,
        name="engagement_schedule_ics",
    ),
    path("availability/", availability.availability, name="availability"),
    path(
        "availability/hours/<int:hours_pk>/delete/",
        availability.weekly_hours_delete,
        name="weekly_hours_delete",
    ),
    path(
        "availability/overrides/<int:override_pk>/delete/",
        availability.date_override_delete,
        name="date_override_delete",
    ),
    path(
        "availability/calendars/<int:calendar_pk>/",
        availability.external_calendar_action,
        name="external_calendar",
    ),
    path("availability/feed/rotate/", availability.feed_rotate, name="feed_rotate"),
    path("links/", availability.booking_link_list, name="booking_link_list"),
    path("links/new/", availability.booking_link_edit, name="booking_link_new"),
    path("links/<int:link_pk>/", availability.booking_link_edit, name="booking_link_edit"),
    path("billing/stripe/", billing.stripe_settings, name="stripe_settings"),
    path(
        "billing/stripe/events/<int:event_pk>/retry/",
        billing.stripe_event_retry,
        name="stripe_event_retry",
    ),
    path("billing/offers/", billing.offer_list, name="offer_list"),
    path("billing/offers/new/", billing.offer_edit, name="offer_new"),
    path("billing/offers/<int:offer_pk>/", billing.offer_edit, name="offer_edit"),
    path("billing/purchases/", billing.purchase_list, name="purchase_list"),
    path(
        "contracts/<int:contract_pk>/statement/invoice/",
        billing.company_invoice_create,
        name="company_invoice_create",
    ),
    path(
        "contracts/<int:contract_pk>/statement/invoice/<int:invoice_pk>/void/",
        billing.company_invoice_void,
        name="company_invoice_void",
    ),
]
