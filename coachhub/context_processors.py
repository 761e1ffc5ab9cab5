from django.http import HttpRequest


def tenancy(request: HttpRequest) -> dict:
    return {
        "practice": getattr(request, "practice", None),
        "membership": getattr(request, "membership", None),
        "memberships": getattr(request, "memberships", []),
    }
