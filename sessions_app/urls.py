from django.urls import path

from . import booking_views, views

urlpatterns = [
    path("sessions/<uuid:session_uuid>/", views.session_detail, name="session_detail"),
    path(
        "sessions/<uuid:session_uuid>/reschedule/",
        views.session_reschedule_view,
        name="session_reschedule",
    ),
    path("sessions/<uuid:session_uuid>/status/", views.session_status_view, name="session_status"),
    path(
        "engagements/<int:engagement_pk>/schedule.ics",
        views.engagement_schedule_ics,
        name="engagement_schedule_ics",
    ),
    path("availability/", views.availability, name="availability"),
    path(
        "availability/hours/<int:hours_pk>/delete/",
        views.weekly_hours_delete,
        name="weekly_hours_delete",
    ),
    path(
        "availability/overrides/<int:override_pk>/delete/",
        views.date_override_delete,
        name="date_override_delete",
    ),
    path(
        "availability/calendars/<int:calendar_pk>/",
        views.external_calendar_action,
        name="external_calendar",
    ),
    path("availability/feed/rotate/", views.feed_rotate, name="feed_rotate"),
    path("links/", views.booking_link_list, name="booking_link_list"),
    path("links/new/", views.booking_link_edit, name="booking_link_new"),
    path("links/<int:link_pk>/", views.booking_link_edit, name="booking_link_edit"),
    # Public pages (anonymous; each opens its practice's scope).
    path(
        "book/<slug:practice_slug>/<slug:link_slug>/",
        booking_views.booking_page,
        name="booking_page",
    ),
    path(
        "book/<slug:practice_slug>/<slug:link_slug>/slots",
        booking_views.booking_slots,
        name="booking_slots",
    ),
    path(
        "book/<slug:practice_slug>/<slug:link_slug>/confirm/",
        booking_views.booking_confirm,
        name="booking_confirm",
    ),
    path("booking/<str:token>/", booking_views.booking_manage, name="booking_manage"),
    path("booking/<str:token>/invite.ics", booking_views.booking_invite, name="booking_invite"),
    path("booking/<str:token>/cancel/", booking_views.booking_cancel_view, name="booking_cancel"),
    path(
        "booking/<str:token>/reschedule/",
        booking_views.booking_reschedule_view,
        name="booking_reschedule",
    ),
    path("calendar/<str:token>.ics", booking_views.calendar_feed, name="calendar_feed"),
]
