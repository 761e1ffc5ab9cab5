"""Public pages: booking links, signed manage links, feeds, buy links (each opens its scope)."""

from django.urls import path

from web.public import attendee, booking, buy, feeds, invitations

urlpatterns = [
    path(
        "book/<slug:practice_slug>/<slug:link_slug>/",
        booking.booking_page,
        name="booking_page",
    ),
    path(
        "book/<slug:practice_slug>/<slug:link_slug>/slots",
        booking.booking_slots,
        name="booking_slots",
    ),
    path(
        "book/<slug:practice_slug>/<slug:link_slug>/confirm/",
        booking.booking_confirm,
        name="booking_confirm",
    ),
    path("booking/<str:token>/", booking.booking_manage, name="booking_manage"),
    path("booking/<str:token>/invite.ics", booking.booking_invite, name="booking_invite"),
    path("booking/<str:token>/cancel/", booking.booking_cancel_view, name="booking_cancel"),
    path(
        "booking/<str:token>/reschedule/",
        booking.booking_reschedule_view,
        name="booking_reschedule",
    ),
    path("invitations/<str:token>/", invitations.invitation, name="invitation"),
    path(
        "invitations/<str:token>/signup/",
        invitations.invitation_signup,
        name="invitation_signup",
    ),
    path("session/<str:token>/", attendee.attendee_session, name="attendee_session"),
    path("session/<str:token>/invite.ics", attendee.attendee_invite, name="attendee_invite"),
    path("calendar/<str:token>.ics", feeds.calendar_feed, name="calendar_feed"),
    path("buy/<slug:practice_slug>/<uuid:offer_id>/", buy.buy, name="buy"),
    path("checkout/<uuid:checkout_id>/done/", buy.checkout_done, name="checkout_done"),
    path(
        "checkout/<uuid:checkout_id>/cancelled/",
        buy.checkout_cancelled,
        name="checkout_cancelled",
    ),
]
