"""The app's routes plus `/bench/minimal`, the baseline every figure is compared with."""

from django.http import JsonResponse
from django.urls import include, path


def minimal(request):
    """The cheapest JSON answer Django gives through the same middleware stack."""
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/minimal", minimal),
    path("", include("coachhub.urls")),
]
