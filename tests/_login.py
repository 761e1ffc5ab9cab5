from django.test import Client


def can_log_in(email: str, password: str) -> bool:
    """Sign in through the real allauth form, as a person would."""
    browser = Client()
    response = browser.post("/accounts/login/", {"login": email, "password": password})
    return response.status_code == 302 and browser.get("/dashboard/").status_code == 200
