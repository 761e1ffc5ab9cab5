from django.urls import path

from . import views

urlpatterns = [
    path("billing/stripe/", views.stripe_settings, name="stripe_settings"),
    path(
        "billing/stripe/events/<int:event_pk>/retry/",
        views.stripe_event_retry,
        name="stripe_event_retry",
    ),
    path("billing/offers/", views.offer_list, name="offer_list"),
    path("billing/offers/new/", views.offer_edit, name="offer_new"),
    path("billing/offers/<int:offer_pk>/", views.offer_edit, name="offer_edit"),
    path("billing/purchases/", views.purchase_list, name="purchase_list"),
    path(
        "contracts/<int:contract_pk>/statement/invoice/",
        views.company_invoice_create,
        name="company_invoice_create",
    ),
    path(
        "contracts/<int:contract_pk>/statement/invoice/<int:invoice_pk>/void/",
        views.company_invoice_void,
        name="company_invoice_void",
    ),
    # Public pages (anonymous; each opens its practice's scope).
    path("buy/<slug:practice_slug>/<uuid:offer_id>/", views.buy, name="buy"),
    path("checkout/<uuid:checkout_id>/done/", views.checkout_done, name="checkout_done"),
    path(
        "checkout/<uuid:checkout_id>/cancelled/",
        views.checkout_cancelled,
        name="checkout_cancelled",
    ),
]
