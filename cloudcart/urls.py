"""The project's routes: health, then each app's own."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from backoffice.admin import site as backoffice_site
from cloudcart import health
from cloudcart.views import ApiRootView

urlpatterns = [
    path("", ApiRootView.as_view(), name="api-root"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("catalog.urls")),
    path("", include("cart.urls")),
    path("", include("orders.urls")),  # checkout and orders
    path("", include("payments.urls")),  # paying for an order, Stripe's webhook
    path("", include("accounts.urls")),
    path("", include("shop.urls")),  # the web shop: /shop/ (index.html) and /shop/config.json
    # The back office: the Django admin over the order ledger, for staff only.
    path("admin/", backoffice_site.urls),
    # OpenAPI: the schema and Swagger UI (assets served by the app, no CDN).
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]

handler400 = "cloudcart.errors.handler400"
handler403 = "cloudcart.errors.handler403"
handler404 = "cloudcart.errors.handler404"
handler500 = "cloudcart.errors.handler500"
