from django.urls import path

from . import views

urlpatterns = [
    path("sessions/<uuid:session_uuid>/", views.session_detail, name="session_detail"),
]
