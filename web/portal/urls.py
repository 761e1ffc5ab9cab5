"""The client portal, one practice at a time: `/portal/<practice slug>/…`."""

from django.urls import path

from web.portal import caring, signin, views

urlpatterns = [
    path("portal/<slug:practice_slug>/", views.portal_home, name="portal_home"),
    path("portal/<slug:practice_slug>/sign-in/", signin.portal_sign_in, name="portal_sign_in"),
    path("portal/<slug:practice_slug>/sign-out/", signin.portal_sign_out, name="portal_sign_out"),
    path(
        "portal/<slug:practice_slug>/sessions/<uuid:session_uuid>/",
        views.portal_session,
        name="portal_session",
    ),
    path(
        "portal/<slug:practice_slug>/sessions/<uuid:session_uuid>/cancel/",
        views.portal_session_cancel,
        name="portal_session_cancel",
    ),
    path(
        "portal/<slug:practice_slug>/sessions/<uuid:session_uuid>/reschedule/",
        views.portal_session_reschedule,
        name="portal_session_reschedule",
    ),
    path(
        "portal/<slug:practice_slug>/sessions/<uuid:session_uuid>/prep/",
        caring.portal_prep,
        name="portal_prep",
    ),
    path(
        "portal/<slug:practice_slug>/commitments/<int:commitment_pk>/done/",
        caring.portal_commitment_done,
        name="portal_commitment_done",
    ),
]
