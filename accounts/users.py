"""Who is calling: a signed-in customer (from a verified Cognito access token) or an anonymous one.

Neither is a Django model: the user pool is the one source of truth for accounts.
"""

from django.conf import settings


class CognitoUser:
    """A caller whose access token verified. `id` is the Cognito `sub`: stable, never reused."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, *, id: str, groups=(), access_token: str = "", username: str = "") -> None:  # noqa: A002
        self.id = id
        # The pool's username (Cognito's admin calls take it); the `sub` where the token has none.
        self.username = username or id
        self.groups = frozenset(groups)
        # The raw token, for the Cognito calls made on the caller's behalf (GetUser, sign-out).
        self.access_token = access_token
        self._email: str | None = None

    @property
    def is_staff(self) -> bool:
        return settings.COGNITO_STAFF_GROUP in self.groups

    @property
    def email(self) -> str | None:
        """The account's e-mail. Access tokens do not carry it: one GetUser call, the first time
        it is asked for in a request (only /me and checkout ask)."""
        if self._email is None:
            from accounts.selectors import user_email_get

            self._email = user_email_get(access_token=self.access_token)
        return self._email

    def __repr__(self) -> str:
        return f"CognitoUser(id={self.id!r}, staff={self.is_staff})"

    def __str__(self) -> str:
        return self.id


class AnonymousCustomer:
    """The caller without a token (DRF's UNAUTHENTICATED_USER)."""

    id = None
    email = None
    groups = frozenset()
    is_authenticated = False
    is_anonymous = True
    is_staff = False

    def __str__(self) -> str:
        return "anonymous"
