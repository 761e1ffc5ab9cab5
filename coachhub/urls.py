from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views
from .admin_site import admin_site

urlpatterns = [
    # Webhooks first: providers call them most, and URL resolution walks this list.
    path("", include("integrations.stripe.urls")),
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/metrics/", views.metrics, name="metrics"),
    path("practice/new/", views.practice_create_view, name="practice_create"),
    path("practice/switch/", views.practice_switch, name="practice_switch"),
    path("practice/settings/", views.practice_settings, name="practice_settings"),
    path("practice/members/", views.members, name="members"),
    path("practice/api-tokens/", views.api_tokens, name="api_tokens"),
    path("accounts/", include("allauth.urls")),
    path("", include("engagements.urls")),
    path("", include("sessions_app.urls")),
    path("", include("billing.urls")),
    path("api/v1/", include("coachhub.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
    path("admin/", admin_site.urls),
]
