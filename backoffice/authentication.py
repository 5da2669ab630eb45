"""The admin's sign-in: e-mail and password checked by Cognito; only the `staff` group gets in.

There is no second password store: the Django user this creates (or updates) for a staff member
is keyed by their Cognito `sub` and has no usable password, so only this backend can sign them
in. Customers, unknown accounts and wrong passwords all get the same refusal. Wrong passwords
count against the API's brute-force guard (accounts/login_guard.py), per account and per address.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.core.exceptions import PermissionDenied

from accounts.errors import InvalidCredentials, LoginThrottled, NotConfirmed, SignInChallenge
from accounts.login_guard import client_address, login_attempt_release, login_attempt_reserve
from accounts.services import session_login
from accounts.tokens import access_token_claims

logger = logging.getLogger(__name__)


def staff_user_sync(*, sub: str, email: str):
    """The Django user of the staff member `sub` (created on first sign-in), kept in step with
    Cognito: active staff, with every admin permission (the Cognito group is the one role)."""
    user, created = get_user_model().objects.update_or_create(
        username=sub,
        defaults={"email": email, "is_staff": True, "is_superuser": True, "is_active": True},
    )
    if created or user.has_usable_password():
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


class CognitoStaffBackend(BaseBackend):
    """`authenticate(request, username=<e-mail>, password=...)` through Cognito."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or not password:
            return None
        email = username.strip()
        address = client_address(request) if request is not None else "unknown"
        try:
            attempt = login_attempt_reserve(email=email, address=address)
        except LoginThrottled:
            logger.warning("Admin sign-in throttled for an account or address")
            raise PermissionDenied from None  # Django stops trying other backends
        try:
            tokens = session_login(email=email, password=password)
        except InvalidCredentials:
            return None  # a wrong password: the attempt stays counted
        except (NotConfirmed, SignInChallenge):
            login_attempt_release(attempt)
            return None
        except BaseException:
            login_attempt_release(attempt)
            raise
        login_attempt_release(attempt)  # successes do not count
        claims = access_token_claims(tokens.access_token)
        if settings.COGNITO_STAFF_GROUP not in (claims.get("cognito:groups") or []):
            logger.info("Admin sign-in refused: account %s is not staff", claims["sub"])
            return None
        return staff_user_sync(sub=claims["sub"], email=email)

    def get_user(self, user_id):
        return get_user_model().objects.filter(pk=user_id, is_active=True).first()
