"""The web shop's server side: its settings for the browser, and index.html for every shop path.

The shop itself is static (storefront/, built by Vite into storefront/dist/shop/): whitenoise serves
its hashed assets locally, CloudFront from S3 on AWS. Deep links (/shop/products/1 after a reload)
get index.html, and the app routes them.
"""

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from shop.csp import shop_csp


class ShopConfigView(APIView):
    """What the shop needs to know at run time, chosen by configuration (never built into the assets)."""

    authentication_classes = []
    renderer_classes = [JSONRenderer]
    private_answers = True  # it sets the caller's CSRF cookie: no shared cache may keep it

    @extend_schema(
        operation_id="shop_config",
        tags=["shop"],
        summary="The web shop's settings (payments, Stripe.js); sets the CSRF cookie for its writes",
        responses={
            200: inline_serializer(
                name="ShopConfig",
                fields={
                    "payments_provider": serializers.CharField(help_text="`stripe` or `none`."),
                    "stripe_js_url": serializers.CharField(
                        help_text="Where the browser loads Stripe.js from."
                    ),
                    "stripe_publishable_key": serializers.CharField(),
                },
            )
        },
    )
    def get(self, request):
        get_token(request)  # Django's CsrfViewMiddleware then sets the `csrftoken` cookie
        return Response(
            {
                "payments_provider": settings.PAYMENTS_PROVIDER,
                "stripe_js_url": settings.STRIPE_JS_URL,
                "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            }
        )


@csrf_exempt  # it only reads: any other method is answered 405, as JSON like every error
def shop_index(request, path: str = ""):
    """index.html for /shop/ and every path under it that is not an asset; never cached."""
    if request.method not in ("GET", "HEAD"):
        detail = {"code": "method_not_allowed", "detail": f'Method "{request.method}" not allowed.'}
        return JsonResponse(detail, status=405, headers={"Allow": "GET, HEAD"})
    index = settings.STOREFRONT_DIR / "shop" / "index.html"
    try:
        body = index.read_bytes()
    except FileNotFoundError:
        raise Http404("The storefront is not built: run `make storefront`.") from None
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = shop_csp(
        stripe_js_url=settings.STRIPE_JS_URL, images_base_url=settings.PRODUCT_IMAGES_BASE_URL
    )
    response["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response
