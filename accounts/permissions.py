"""Who may do what: staff (the Cognito group `staff`) and signed-in customers.

Both permissions include the default browser-CSRF check (cloudcart.csrf), so a view that sets
`permission_classes = [IsStaff]` keeps it.
"""

from rest_framework.permissions import SAFE_METHODS

from accounts.staff_check import staff_still_member
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
    signed-in customers 403 `permission_denied`.

    A write also needs the caller to be in the staff group at Cognito now, not only in their
    token (checked at most every STAFF_RECHECK_SECONDS: accounts/staff_check.py), so a removal
    from the group stops staff writes within that bound.
    """

    message = "Only staff may do this."

    def has_permission(self, request, view) -> bool:
        if not (super().has_permission(request, view) and request_is_staff(request)):
            return False
        if request.method in SAFE_METHODS:
            return True
        return staff_still_member(username=request.user.username)
