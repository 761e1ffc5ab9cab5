from django.urls import path

from . import views

urlpatterns = [
    path("webhooks/stripe/<uuid:practice_public_id>/", views.stripe_webhook, name="stripe_webhook"),
]
