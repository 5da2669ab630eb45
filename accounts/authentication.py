"""DRF authentication: `Authorization: Bearer <Cognito access token>`, verified locally.

No header: the caller is anonymous (AnonymousCustomer). A header that is not a valid Bearer access
token: 401 `invalid_token` (`token_expired` when it has only expired) with `WWW-Authenticate`,
whatever the endpoint: a client that sends credentials learns they are bad.

Browsers signed in through the browsable API send the token in the `access_token` cookie
(accounts/cookies.py) instead; a cookie that no longer verifies (expired, signed out) makes the
browser anonymous rather than locking it out of every page.
"""

from rest_framework.authentication import BaseAuthentication

from accounts.cookies import ACCESS_COOKIE
from accounts.errors import InvalidToken
from accounts.tokens import access_token_claims
from accounts.users import CognitoUser

SCHEME = "Bearer"


def bearer_token(request) -> str | None:
    """The token of an `Authorization: Bearer` header; None without the header; InvalidToken for
    any other shape (another scheme, no token, spaces inside)."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is None:
        return None
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != SCHEME.lower():
        raise InvalidToken()
    return parts[1]


def user_from_access_token(token: str) -> CognitoUser:
    claims = access_token_claims(token)
    groups = claims.get("cognito:groups") or []
    if not isinstance(groups, list):
        groups = []
    username = claims.get("username") if isinstance(claims.get("username"), str) else ""
    return CognitoUser(
        id=claims["sub"],
        groups=[g for g in groups if isinstance(g, str)],
        access_token=token,
        username=username,
    )


class CognitoAccessTokenAuthentication(BaseAuthentication):
    """`request.user` is a CognitoUser for a valid Bearer access token."""

    def authenticate(self, request):
        token = bearer_token(request)
        if token is not None:
            return user_from_access_token(token), token
        cookie = request.COOKIES.get(ACCESS_COOKIE)
        if not cookie:
            return None
        try:
            return user_from_access_token(cookie), cookie
        except InvalidToken:
            return None

    def authenticate_header(self, request) -> str:
        # Present on every 401, so DRF answers 401 (not 403) to NotAuthenticated.
        return SCHEME
