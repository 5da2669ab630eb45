"""Who may do what: staff (the Cognito group `staff`) and signed-in customers.

Both permissions include the default browser-CSRF check (cloudcart.csrf), so a view that sets
`permission_classes = [IsStaff]` keeps it.
"""

from cloudcart.csrf import BrowserWritesNeedCsrf


def request_is_staff(request) -> bool:
    """True when the caller's verified access token puts them in the staff group."""
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_staff)


def request_is_signed_in(request) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


class IsSignedIn(BrowserWritesNeedCsrf):
    """Any signed-in customer; anonymous callers get 401 `not_authenticated` (+ `WWW-Authenticate`)."""

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and request_is_signed_in(request)


class IsStaff(BrowserWritesNeedCsrf):
    """Staff only: anonymous callers get 401 `not_authenticated` (+ `WWW-Authenticate: Bearer`),
    signed-in customers 403 `permission_denied`."""

    message = "Only staff may do this."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and request_is_staff(request)
