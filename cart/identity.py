"""Whose cart is this: the cart id a request carries (cookie or header), minting one, the cookie.

The one place that answers "which cart belongs to this client". Today a client is anonymous and
holds an unguessable id; a later sign-in can map a user to a cart here without touching the
views or the services.
"""

import re
import secrets

from django.conf import settings

CART_COOKIE_NAME = "cart_id"
CART_HEADER_NAME = "X-Cart-Id"
# secrets.token_urlsafe(24): 192 random bits in 32 URL-safe characters.
CART_ID_BYTES = 24
# Accept what we mint (and other URL-safe tokens of 128 bits or more); anything else is garbage
# and is treated as "no cart", never looked up.
CART_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{22,64}")
CART_MAX_AGE_SECONDS = 7 * 24 * 3600
# Where a fresh id is remembered for the rest of the request (the response must set it).
_REQUEST_ATTR = "_cloudcart_cart_id"


def cart_id_new() -> str:
    return secrets.token_urlsafe(CART_ID_BYTES)


def cart_id_is_valid(value) -> bool:
    return isinstance(value, str) and CART_ID_PATTERN.fullmatch(value) is not None


def _django_request(request):
    # A DRF Request wraps Django's; remember things on the one both share.
    return getattr(request, "_request", request)


def cart_id_from_request(request) -> str | None:
    """The caller's cart id from header `X-Cart-Id` or cookie `cart_id`; None if absent or garbage.

    The header wins over the cookie when both are valid: a non-browser client that sends it
    means it. A garbage value is ignored, so the client gets a new, empty cart on its next write.
    """
    django_request = _django_request(request)
    minted = getattr(django_request, _REQUEST_ATTR, None)
    if minted:
        return minted
    for candidate in (
        django_request.headers.get(CART_HEADER_NAME),
        django_request.COOKIES.get(CART_COOKIE_NAME),
    ):
        if cart_id_is_valid(candidate):
            return candidate
    return None


def cart_id_for(request) -> str:
    """The caller's cart id for a write: the existing one, or a fresh one made now.

    A fresh id is remembered on the request, so every later call in the same request (and the
    cookie set on the response) sees the same id.
    """
    cart_id = cart_id_from_request(request)
    if cart_id is None:
        cart_id = cart_id_new()
        setattr(_django_request(request), _REQUEST_ATTR, cart_id)
    return cart_id


def cart_cookie_set(response, cart_id: str) -> None:
    """Send the cart id as an HttpOnly, SameSite=Lax cookie (Secure in production), 7 days sliding.

    SameSite=Lax keeps the cookie off cross-site POSTs, which is what protects the cart's
    writes from CSRF (there is no session or CSRF token in this API).
    """
    response.set_cookie(
        CART_COOKIE_NAME,
        cart_id,
        max_age=CART_MAX_AGE_SECONDS,
        path="/",
        secure=settings.IS_PRODUCTION,
        httponly=True,
        samesite="Lax",
    )
