"""`POST /slack/events/`: Slack's Events API and interactivity; verify, store once, answer
at once (Slack waits three seconds, then retries)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from chat.events import MAX_BODY_BYTES, EventRefused, slack_request_receive
from web.webhooks.bodies import declared_length


@csrf_exempt
@require_POST
def slack_events(request: HttpRequest) -> JsonResponse:
    """401 (nothing stored) unless signed with the operator's secret or the secret of a
    connection of the team the body names; then 400 for a body that is not a Slack
    request, the challenge for url_verification, and 200 for an event, new or a retry
    (`X-Slack-Retry-Num`). 413 for a body over `MAX_BODY_BYTES`, refused before it is read."""
    if declared_length(request) > MAX_BODY_BYTES:
        return JsonResponse({"error": f"The body is over {MAX_BODY_BYTES} bytes."}, status=413)
    try:
        receipt = slack_request_receive(
            body=request.body, headers=request.headers, content_type=request.content_type or ""
        )
    except EventRefused as refusal:
        return JsonResponse({"error": str(refusal)}, status=refusal.status)
    if receipt.challenge is not None:
        return JsonResponse({"challenge": receipt.challenge})
    return JsonResponse({"ok": True, "duplicate": receipt.duplicates > 0 and not receipt.stored})
