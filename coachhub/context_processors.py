from django.http import HttpRequest
from django.utils import timezone


def tenancy(request: HttpRequest) -> dict:
    return {
        "practice": getattr(request, "practice", None),
        "membership": getattr(request, "membership", None),
        "memberships": getattr(request, "memberships", []),
        # The zone pages show times in (coachhub.timezones.ViewerTimeZoneMiddleware).
        "viewer_zone": timezone.get_current_timezone(),
    }
