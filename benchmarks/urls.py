"""The app's routes plus the baselines every figure is compared with."""

import json

from django.http import HttpResponseBadRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from benchmarks.models import BenchRow


def minimal(request):
    """The cheapest JSON answer Django gives through the same middleware stack."""
    return JsonResponse({"ok": True})


@csrf_exempt
@require_POST
def minimal_insert(request):
    """Parse the JSON body and insert it as one row: a webhook with nothing else to do."""
    try:
        body = json.loads(request.body)
    except ValueError:
        return HttpResponseBadRequest("not JSON")
    BenchRow.objects.create(body=body)
    return JsonResponse({"received": True})


urlpatterns = [
    path("bench/minimal", minimal),
    path("bench/insert", minimal_insert),
    path("", include("web.urls")),
]
