"""CSRF for browsers, not for API clients: Django's Origin/Referer + token check on browser writes.

A cross-site page can make a browser POST a form (urlencoded or multipart, both of which we parse)
to us. Browsers mark such requests: they carry our cookies, or an `Origin` / `Sec-Fetch-Site`
header. Those writes must pass Django's CSRF check (same origin, or CSRF_TRUSTED_ORIGINS, plus the
token the browsable API's forms carry). A client that names its cart in the `X-Cart-Id` header is
not a browser form (a cross-site page cannot set that header without a CORS preflight, which we
never grant), and curl-style clients without cookies or browser headers are not checked either.
"""

from django.middleware.csrf import CsrfViewMiddleware
from rest_framework.permissions import SAFE_METHODS, BasePermission

from cloudcart.errors import CsrfFailed

_BROWSER_MARKERS = ("HTTP_ORIGIN", "HTTP_SEC_FETCH_SITE")


def is_browser(meta) -> bool:
    """Origin / Sec-Fetch-Site mark a browser; so do cookies sent with a browser's User-Agent.

    Cookies alone do not: `curl -c jar -b jar` (docs/api.md's cart flow) sends them too. A page
    cannot make a browser send another User-Agent (not a CORS-safelisted header; we grant no
    preflight), and every browser's starts with "Mozilla/".
    """
    if any(meta.get(marker) for marker in _BROWSER_MARKERS):
        return True
    return bool(meta.get("HTTP_COOKIE")) and meta.get("HTTP_USER_AGENT", "").startswith("Mozilla/")


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason  # hand the reason back instead of Django's HTML 403 page


def _no_response(request):  # CsrfViewMiddleware wants a get_response; we only call its checks
    return None


def csrf_failure_reason(request) -> str | None:
    """None when the request passes Django's CSRF check, else why it does not."""
    # The token of a form post is in the body: read (and cache) the raw body first, so that parsing
    # request.POST here leaves `request.body` readable for the view (bounded by the size limit).
    request.body  # noqa: B018
    check = _CsrfCheck(_no_response)
    check.process_request(request)  # reads the csrftoken cookie
    return check.process_view(request, None, (), {})


class BrowserWritesNeedCsrf(BasePermission):
    """DRF permission (the default for every view): browser writes must pass the CSRF check."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        meta = request._request.META
        if meta.get("HTTP_X_CART_ID"):
            return True
        if not is_browser(meta):
            return True
        reason = csrf_failure_reason(request._request)
        if reason:
            raise CsrfFailed(f"CSRF check failed: {reason}")
        return True
