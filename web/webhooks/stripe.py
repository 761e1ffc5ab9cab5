"""`POST /webhooks/stripe/<practice public id>/`: verify, store once, answer at once."""

from __future__ import annotations

from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.events import webhook_receive
from integrations.stripe.webhooks import WebhookRefused


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest, practice_public_id) -> JsonResponse:
    """400 (nothing stored) for a bad, stale or missing signature or a malformed body;
    200 for a new event (processing is queued after commit) and for a duplicate."""
    try:
        new = webhook_receive(
            practice_public_id=practice_public_id,
            payload=request.body,
            signature=request.headers.get("Stripe-Signature"),
        )
    except LookupError:
        raise Http404("No such practice.") from None
    except WebhookRefused as refusal:
        return JsonResponse({"error": str(refusal)}, status=400)
    return JsonResponse({"received": True, "duplicate": not new})
