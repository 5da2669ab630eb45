"""Whose cart is this: the signed-in customer's, or the one a guest's cookie or header names.

The one place that answers "which cart belongs to this client". A signed-in customer's cart is
`user#<sub>`, the same on every device; a guest holds an unguessable id (cookie or header). A
guest id can never contain `#`, so no guest can name a customer's cart. The same identity scopes
the client's write throttles (counted on its cart item) and its Idempotency-Keys.
"""

import base64
import hashlib
import hmac
import re
import secrets

from django.conf import settings

from cloudcart.throttling import client_address

CART_COOKIE_NAME = "cart_id"
CART_HEADER_NAME = "X-Cart-Id"
# secrets.token_urlsafe(24): 192 random bits in 32 URL-safe characters.
CART_ID_BYTES = 24
# Accept what we mint (and other URL-safe tokens of 128 bits or more); anything else is garbage
# and is treated as "no cart", never looked up.
CART_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{22,64}")
CART_MAX_AGE_SECONDS = 7 * 24 * 3600
CUSTOMER_CART_PREFIX = "user#"
# Where a fresh id is remembered for the rest of the request (the response must set it).
_REQUEST_ATTR = "_cloudcart_cart_id"


def cart_id_new() -> str:
    return secrets.token_urlsafe(CART_ID_BYTES)


def cart_id_for_key(*, address: str, idempotency_key: str) -> str:
    """The cart id a client with no identity gets with a checkout that carries an Idempotency-Key.

    Derived from its address and key (keyed with SECRET_KEY, so nobody can compute it): a retry
    whose first answer, and the cart id minted with it, was lost comes back with no identity
    again and gets the same id, hence the same key scope, hence the first order.
    """
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"cart-for-key\n{address}\n{idempotency_key}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest[:CART_ID_BYTES]).decode()


def cart_id_is_valid(value) -> bool:
    return isinstance(value, str) and CART_ID_PATTERN.fullmatch(value) is not None


def _django_request(request):
    # A DRF Request wraps Django's; remember things on the one both share.
    return getattr(request, "_request", request)


def customer_cart_id(customer_id: str) -> str:
    return f"{CUSTOMER_CART_PREFIX}{customer_id}"


def is_customer_cart_id(cart_id: str | None) -> bool:
    return bool(cart_id) and cart_id.startswith(CUSTOMER_CART_PREFIX)


def _signed_in_customer_id(request) -> str | None:
    """The verified customer's id on a DRF request (None for a guest or a plain Django request)."""
    user = getattr(request, "user", None)
    return user.id if user is not None and getattr(user, "is_authenticated", False) else None


def guest_cart_id_from_request(request) -> str | None:
    """The guest cart id the request carries (header `X-Cart-Id` or cookie `cart_id`), signed in
    or not; None if absent or garbage. Sign-in merges this cart into the customer's.

    The header wins over the cookie when both are valid: a non-browser client that sends it
    means it. A garbage value is ignored, so the client gets a new, empty cart on its next write.
    """
    django_request = _django_request(request)
    for candidate in (
        django_request.headers.get(CART_HEADER_NAME),
        django_request.COOKIES.get(CART_COOKIE_NAME),
    ):
        if cart_id_is_valid(candidate):
            return candidate
    return None


def cart_id_from_request(request) -> str | None:
    """The caller's cart id: the signed-in customer's (header and cookie are then ignored), else
    the guest's from header `X-Cart-Id` or cookie `cart_id`; None if absent or garbage."""
    customer_id = _signed_in_customer_id(request)
    if customer_id:
        return customer_cart_id(customer_id)
    django_request = _django_request(request)
    minted = getattr(django_request, _REQUEST_ATTR, None)
    if minted:
        return minted
    return guest_cart_id_from_request(request)


def cart_id_for(request, *, idempotency_key: str | None = None) -> str:
    """The caller's cart id for a write: the existing one, or one made now (random, or derived
    from the client's address and `idempotency_key` when it sent one: `cart_id_for_key`).

    A new id is remembered on the request, so every later call in the same request (and the
    cookie set on the response) sees the same id.
    """
    cart_id = cart_id_from_request(request)
    if cart_id is None:
        if idempotency_key is not None:
            cart_id = cart_id_for_key(address=client_address(request), idempotency_key=idempotency_key)
        else:
            cart_id = cart_id_new()
        setattr(_django_request(request), _REQUEST_ATTR, cart_id)
    return cart_id


def cart_cookie_set(response, cart_id: str) -> None:
    """Send the cart id as an HttpOnly, SameSite=Lax cookie (Secure in production), 7 days sliding.

    SameSite=Lax keeps the cookie off cross-site POSTs, which is what protects the cart's
    writes from CSRF (there is no session or CSRF token in this API). A customer's cart needs no
    cookie: the customer's token names it.
    """
    if is_customer_cart_id(cart_id):
        return
    response.set_cookie(
        CART_COOKIE_NAME,
        cart_id,
        max_age=CART_MAX_AGE_SECONDS,
        path="/",
        secure=settings.IS_PRODUCTION,
        httponly=True,
        samesite="Lax",
    )


def cart_cookie_delete(response) -> None:
    """Forget the guest cart (merged into the customer's at sign-in)."""
    response.delete_cookie(CART_COOKIE_NAME, path="/", samesite="Lax")
