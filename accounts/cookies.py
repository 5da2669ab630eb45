"""Tokens in cookies, for people using the browsable API: HttpOnly (no script can read them),
SameSite (not sent on cross-site posts), Secure in production.

A browser's writes are still CSRF-checked (cloudcart.csrf): a signed-in browser is a browser.
API clients keep using `Authorization: Bearer` and get no cookies.
"""

from django.conf import settings

from cloudcart.csrf import is_browser

ACCESS_COOKIE = "access_token"
REFRESH_COOKIE = "refresh_token"
# Only the sign-in endpoints ever need the refresh token.
REFRESH_COOKIE_PATH = "/auth/"
# The app client's refresh token validity (accounts/bootstrap.py, deploy/stacks).
REFRESH_COOKIE_MAX_AGE = 30 * 24 * 3600


def wants_cookies(request) -> bool:
    """A browser (Origin / Sec-Fetch-Site, or cookies from a browser's User-Agent) signing in."""
    return is_browser(request.META)


def session_cookies_set(response, *, access_token: str, expires_in: int, refresh_token: str | None) -> None:
    """The access token for every path until it expires; the refresh token for /auth/ only."""
    common = {"secure": settings.IS_PRODUCTION, "httponly": True}
    # Lax: the browser keeps the person signed in when they follow a link to the shop.
    response.set_cookie(ACCESS_COOKIE, access_token, max_age=expires_in, path="/", samesite="Lax", **common)
    if refresh_token:
        response.set_cookie(
            REFRESH_COOKIE,
            refresh_token,
            max_age=REFRESH_COOKIE_MAX_AGE,
            path=REFRESH_COOKIE_PATH,
            samesite="Strict",
            **common,
        )


def session_cookies_delete(response) -> None:
    response.delete_cookie(ACCESS_COOKIE, path="/", samesite="Lax")
    response.delete_cookie(REFRESH_COOKIE, path=REFRESH_COOKIE_PATH, samesite="Strict")
