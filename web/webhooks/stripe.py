"""`POST /webhooks/stripe/<practice public id>/`: verify, store once, answer at once."""

from __future__ import annotations

from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.events import webhook_receive
from integrations.stripe.webhooks import MAX_BODY_BYTES, WebhookRefused, WebhookTooLarge
from web.webhooks.bodies import declared_length


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest, practice_public_id) -> JsonResponse:
    """400 (nothing stored) for a bad, stale or missing signature or a body that is not
    an event we can store; 413 for a body over `MAX_BODY_BYTES`, refused before it is
    read; 200 for a new event (processing is queued after commit) and for a duplicate."""
    if declared_length(request) > MAX_BODY_BYTES:
        return JsonResponse({"error": f"The body is over {MAX_BODY_BYTES} bytes."}, status=413)
    try:
        new = webhook_receive(
            practice_public_id=practice_public_id,
            payload=request.body,
            signature=request.headers.get("Stripe-Signature"),
        )
    except LookupError:
        raise Http404("No such practice.") from None
    except WebhookRefused as refusal:
        status = 413 if isinstance(refusal, WebhookTooLarge) else 400
        return JsonResponse({"error": str(refusal)}, status=status)
    return JsonResponse({"received": True, "duplicate": not new})
