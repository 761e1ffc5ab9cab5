from django.urls import path

from . import views

urlpatterns = [
    path("clients/", views.client_list, name="client_list"),
    path("clients/new/", views.client_create, name="client_create"),
    path("clients/<int:client_pk>/", views.client_detail, name="client_detail"),
    path("clients/<int:client_pk>/edit/", views.client_edit, name="client_edit"),
    path("clients/<int:client_pk>/notes/", views.client_notes, name="client_notes"),
    path("companies/", views.organization_list, name="organization_list"),
    path("companies/new/", views.organization_create, name="organization_create"),
    path("companies/<int:organization_pk>/", views.organization_detail, name="organization_detail"),
    path(
        "companies/<int:organization_pk>/edit/", views.organization_edit, name="organization_edit"
    ),
    path("contracts/new/", views.contract_create, name="contract_create"),
    path("contracts/<int:contract_pk>/", views.contract_detail, name="contract_detail"),
    path(
        "contracts/<int:contract_pk>/statement/",
        views.contract_statement,
        name="contract_statement",
    ),
    path("engagements/", views.engagement_list, name="engagement_list"),
    path("engagements/new/", views.engagement_new, name="engagement_new"),
    path(
        "engagements/new/per-session/",
        views.engagement_create_per_session,
        name="engagement_create_per_session",
    ),
    path(
        "engagements/new/monthly-package/",
        views.engagement_create_monthly_package,
        name="engagement_create_monthly_package",
    ),
    path(
        "engagements/new/team-workshop/",
        views.engagement_create_team_workshop,
        name="engagement_create_team_workshop",
    ),
    path("engagements/<int:engagement_pk>/", views.engagement_detail, name="engagement_detail"),
    path(
        "engagements/<int:engagement_pk>/schedule/",
        views.engagement_schedule,
        name="engagement_schedule",
    ),
    path("engagements/<int:engagement_pk>/edit/", views.engagement_edit, name="engagement_edit"),
    path(
        "engagements/<int:engagement_pk>/steps/<slug:step_key>/",
        views.checklist_step,
        name="checklist_step",
    ),
    path("engagements/<int:engagement_pk>/sessions/", views.session_add, name="session_add"),
    path("collections/<int:collection_pk>/", views.collection_detail, name="collection_detail"),
    path(
        "collections/<int:collection_pk>/participants/",
        views.collection_participants_add,
        name="collection_participants_add",
    ),
    path(
        "collections/<int:collection_pk>/resources/",
        views.collection_resource_add,
        name="collection_resource_add",
    ),
]
