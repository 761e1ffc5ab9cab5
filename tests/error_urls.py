"""The app's URLconf plus one view that fails, to see the 500 page a visitor gets."""

from django.urls import path

from web.urls import urlpatterns as app_urlpatterns


def fails(request):
    raise RuntimeError("a bug")


urlpatterns = [*app_urlpatterns, path("fails/", fails)]
