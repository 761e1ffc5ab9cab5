from django.contrib import admin

from coachhub.admin_site import PracticeAdminMixin

from .events import event_process_again
from .models import (
    Checkout,
    CompanyInvoice,
    Offer,
    Payment,
    Purchase,
    StripeAccount,
    StripeEvent,
)


@admin.register(StripeAccount)
class StripeAccountAdmin(PracticeAdminMixin, admin.ModelAdmin):
    """Keys are never shown: only which account, which mode, and their masked ends."""

    list_display = ["practice", "account_id", "account_name", "mode", "verified_at"]
    list_select_related = ["practice"]
    fields = [
        "practice",
        "account_id",
        "account_name",
        "mode",
        "secret_key_masked",
        "publishable_key",
        "webhook_secret_masked",
        "verified_at",
        "last_reconciled_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # connected from the practice's Stripe page, which checks the key


@admin.register(Offer)
class OfferAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "price", "currency", "coach", "practice", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]
    list_select_related = ["coach", "practice"]
    readonly_fields = ["stripe_product_id", "stripe_price_id", "stripe_price_fingerprint"]


@admin.register(Checkout)
class CheckoutAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["stripe_id", "email", "offer", "status", "expires_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["email", "stripe_id"]
    list_select_related = ["offer"]
    readonly_fields = ["booking", "stripe_id", "url"]


@admin.register(StripeEvent)
class StripeEventAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["type", "stripe_id", "practice", "status", "attempts", "received_at", "source"]
    list_filter = ["status", "type", "source"]
    search_fields = ["stripe_id", "type", "last_error"]
    list_select_related = ["practice"]
    readonly_fields = [
        "practice",
        "stripe_id",
        "type",
        "payload",
        "stripe_created",
        "livemode",
        "source",
        "attempts",
        "last_error",
        "received_at",
        "processed_at",
        "retry_at",
        "claimed_by",
    ]
    actions = ["process_again"]

    @admin.action(description="Process the selected events again")
    def process_again(self, request, queryset):
        events = list(queryset.select_related("practice"))
        for event in events:
            event_process_again(event=event, actor=request.user)
        self.message_user(request, f"{len(events)} event(s) queued.")


@admin.register(Purchase)
class PurchaseAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = [
        "offer",
        "client",
        "amount_total",
        "currency",
        "status",
        "subscription_state",
        "disputed",
        "setup_refused",
        "paid_at",
    ]
    list_filter = ["status", "subscription_state", "disputed"]
    search_fields = ["client__email", "stripe_checkout_id", "stripe_subscription_id"]
    list_select_related = ["offer", "client"]
    readonly_fields = [
        "stripe_checkout_id",
        "stripe_subscription_id",
        "stripe_customer_id",
        "stripe_payment_intent_id",
        "subscription_watermark",
    ]


@admin.register(Payment)
class PaymentAdmin(PracticeAdminMixin, admin.ModelAdmin):
    list_display = ["stripe_id", "purchase", "amount", "currency", "paid_at"]
    list_select_related = ["purchase__offer", "purchase__client"]
    date_hierarchy = "paid_at"


@admin.register(CompanyInvoice)
class CompanyInvoiceAdmin(PracticeAdminMixin, admin.ModelAdmin):
    """Made from a contract's statement page; the status follows Stripe's invoice events."""

    list_display = [
        "contract",
        "month",
        "amount",
        "currency",
        "status",
        "created_at",
        "paid_at",
        "voided_at",
    ]
    list_filter = ["status"]
    search_fields = ["stripe_invoice_id", "contract__organization__name"]
    list_select_related = ["contract__organization"]
    readonly_fields = [
        "contract",
        "month",
        "stripe_invoice_id",
        "stripe_customer_id",
        "amount_total",
        "currency",
        "hosted_url",
        "created_by",
        "paid_at",
        "voided_at",
    ]

    def has_add_permission(self, request):
        return False
