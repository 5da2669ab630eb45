"""The project's routes: health, then each app's own."""

from django.urls import include, path

from cloudcart import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("catalog.urls")),
    path("", include("cart.urls")),
]

handler400 = "cloudcart.errors.handler400"
handler403 = "cloudcart.errors.handler403"
handler404 = "cloudcart.errors.handler404"
handler500 = "cloudcart.errors.handler500"
