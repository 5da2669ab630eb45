"""Who may check out: anyone (guest checkout), or only signed-in customers when the shop says so."""

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS

from accounts.permissions import request_is_signed_in
from cloudcart.csrf import BrowserWritesNeedCsrf


class CheckoutAllowed(BrowserWritesNeedCsrf):
    """With CHECKOUT_REQUIRES_SIGN_IN, an anonymous checkout is 401 `not_authenticated`
    (+ `WWW-Authenticate: Bearer`). Browser writes need the CSRF check either way."""

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if request.method in SAFE_METHODS or not settings.CHECKOUT_REQUIRES_SIGN_IN:
            return True
        return request_is_signed_in(request)
