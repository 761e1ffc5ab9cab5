"""The root URLconf: every interface, webhooks first (providers call them most)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from coachhub.admin_site import admin_site
from web import health

urlpatterns = [
    # Webhooks first: providers call them most, and URL resolution walks this list.
    path("", include("web.webhooks.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("", include("web.dashboard.urls")),
    path("", include("web.public.urls")),
    path("", include("web.portal.urls")),
    path("api/v1/", include("web.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
    path("admin/", admin_site.urls),
]
