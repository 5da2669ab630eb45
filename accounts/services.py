"""Account writes, each one Cognito call (or two) on the pool's public app client: register,
confirm, sign in, refresh, sign out; and the demo users of the local stack.

Cognito's errors become ours (accounts/errors.py); an unreachable or throttling Cognito is a 503
(cloudcart.errors maps transient AWS errors). Passwords and tokens are never logged.
"""

import logging
from dataclasses import dataclass

from botocore.exceptions import ClientError
from django.conf import settings
from rest_framework.exceptions import ValidationError

from accounts.bootstrap import PASSWORD_POLICY
from accounts.cognito import cognito, error_code, pool_config
from accounts.errors import (
    CodeMismatch,
    InvalidCredentials,
    InvalidRefreshToken,
    NotConfirmed,
    SignInChallenge,
    WeakPassword,
)
from accounts.login_guard import login_attempt_release, login_attempt_reserve
from accounts.tokens import access_token_claims
from cart.identity import customer_cart_id
from cart.merge import cart_merge

logger = logging.getLogger(__name__)

# Cognito's answers to a wrong e-mail or password. UserNotFound only comes from a pool without
# PreventUserExistenceErrors (moto ignores that setting): either way the caller learns nothing.
_BAD_CREDENTIALS = frozenset({"NotAuthorizedException", "UserNotFoundException"})


# moto answers an unknown refresh token with ResourceNotFound, Cognito with NotAuthorized.
_BAD_REFRESH = frozenset({"NotAuthorizedException", "ResourceNotFoundException"})


@dataclass(frozen=True)
class Tokens:
    """A sign-in's tokens under their OAuth 2.0 names. A refresh brings no new refresh token."""

    access_token: str
    id_token: str
    refresh_token: str | None
    expires_in: int
    token_type: str = "Bearer"

    def as_dict(self) -> dict:
        body = {
            "access_token": self.access_token,
            "id_token": self.id_token,
            "expires_in": self.expires_in,
            "token_type": self.token_type,
        }
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        return body


@dataclass(frozen=True)
class Registration:
    """What a registration may tell its caller: the same whether the e-mail was new or taken."""

    email: str
    confirmed: bool


def _tokens(result: dict) -> Tokens:
    return Tokens(
        access_token=result["AccessToken"],
        id_token=result["IdToken"],
        refresh_token=result.get("RefreshToken"),
        expires_in=int(result["ExpiresIn"]),
        token_type=result.get("TokenType") or "Bearer",
    )


def _password_policy_check(password: str) -> None:
    """The pool's policy (accounts/bootstrap.py, the same in the stack), checked before Cognito is
    asked: Cognito looks at an existing e-mail first, so its answer to a weak password would tell
    new and taken e-mails apart."""
    policy = PASSWORD_POLICY
    if (
        len(password) < policy["MinimumLength"]
        or (policy["RequireUppercase"] and not any(c.isupper() for c in password))
        or (policy["RequireLowercase"] and not any(c.islower() for c in password))
        or (policy["RequireNumbers"] and not any(c.isdigit() for c in password))
        or (policy["RequireSymbols"] and all(c.isalnum() for c in password))
    ):
        raise WeakPassword()


def _sign_up(*, email: str, password: str) -> str | None:
    """Sign up `email` (confirmed at once where ACCOUNTS_AUTO_CONFIRM); its id, or None when the
    e-mail has an account already (then nothing changes)."""
    _password_policy_check(password)
    config = pool_config()
    client = cognito()
    try:
        answer = client.sign_up(ClientId=config.client_id, Username=email, Password=password)
    except ClientError as exc:
        code = error_code(exc)
        if code == "UsernameExistsException":
            return None
        if code == "InvalidPasswordException":
            raise WeakPassword() from None
        if code == "InvalidParameterException":
            raise ValidationError({"email": ["Not an address the user pool accepts."]}) from None
        raise
    if not answer.get("UserConfirmed") and settings.ACCOUNTS_AUTO_CONFIRM:
        client.admin_confirm_sign_up(UserPoolId=config.pool_id, Username=email)
    logger.info("Registered account %s", answer["UserSub"])
    return answer["UserSub"]


def account_register(*, email: str, password: str) -> Registration:
    """Sign up `email` with `password`. Confirmed at once where ACCOUNTS_AUTO_CONFIRM (locally);
    otherwise Cognito e-mails a code for `account_confirm`.

    The answer is the same when the e-mail has an account already (which keeps its password):
    the pool hides whether an account exists (PreventUserExistenceErrors), and so does this.
    """
    _sign_up(email=email, password=password)
    return Registration(email=email, confirmed=settings.ACCOUNTS_AUTO_CONFIRM)


def account_confirm(*, email: str, code: str) -> None:
    """Confirm a registration with the code Cognito e-mailed.

    A wrong or expired code, an unknown e-mail and an account confirmed already all answer
    CodeMismatch: telling them apart would tell which e-mails have accounts. Only the right code
    for an unconfirmed account (proof of the mailbox) succeeds.
    """
    try:
        cognito().confirm_sign_up(ClientId=pool_config().client_id, Username=email, ConfirmationCode=code)
    except ClientError as exc:
        error = error_code(exc)
        if error in (
            "CodeMismatchException",
            "ExpiredCodeException",
            "UserNotFoundException",
            "NotAuthorizedException",  # "Current status is CONFIRMED"
        ):
            raise CodeMismatch() from None
        raise


def session_login(*, email: str, password: str) -> Tokens:
    """USER_PASSWORD_AUTH: the e-mail and password for the pool's tokens."""
    try:
        answer = cognito().initiate_auth(
            ClientId=pool_config().client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
    except ClientError as exc:
        code = error_code(exc)
        if code in _BAD_CREDENTIALS or code == "PasswordResetRequiredException":
            raise InvalidCredentials() from None
        if code == "UserNotConfirmedException":
            raise NotConfirmed() from None
        raise
    if "AuthenticationResult" not in answer:
        # MFA or a forced new password: steps this API does not offer.
        raise SignInChallenge(extra={"challenge": answer.get("ChallengeName")})
    return _tokens(answer["AuthenticationResult"])


def session_start(*, email: str, password: str, address: str, guest_cart_id: str | None) -> Tokens:
    """Sign in through the brute-force guard (accounts/login_guard.py: the attempt is reserved
    before Cognito is asked), then merge the guest's cart into the account's.

    The merge happens once (cart/merge.py): signing in again, or retrying after a failure, finds
    the guest cart gone.
    """
    attempt = login_attempt_reserve(email=email, address=address)
    try:
        tokens = session_login(email=email, password=password)
    except InvalidCredentials:
        raise  # a wrong password: the attempt stays counted
    except BaseException:
        login_attempt_release(attempt)
        raise
    login_attempt_release(attempt)  # successes do not count
    if guest_cart_id:
        customer_id = access_token_claims(tokens.access_token)["sub"]
        cart_merge(guest_cart_id=guest_cart_id, customer_cart_id=customer_cart_id(customer_id))
    return tokens


def session_refresh(*, refresh_token: str) -> Tokens:
    """New access and id tokens for a refresh token that is still valid (not revoked)."""
    try:
        answer = cognito().initiate_auth(
            ClientId=pool_config().client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token},
        )
    except ClientError as exc:
        if error_code(exc) in _BAD_REFRESH:
            raise InvalidRefreshToken() from None
        raise
    return _tokens(answer["AuthenticationResult"])  # a new refresh token only if Cognito rotates it


def _global_sign_out(access_token: str) -> bool:
    """Cognito GlobalSignOut: every refresh token of the account is revoked. False when Cognito
    refuses the access token (expired, revoked, not ours)."""
    try:
        cognito().global_sign_out(AccessToken=access_token)
    except ClientError as exc:
        if error_code(exc) in _BAD_CREDENTIALS:
            return False
        raise
    return True


def session_logout(*, refresh_token: str | None, access_token: str | None) -> bool:
    """Sign the account out: every refresh token it holds is revoked (Cognito GlobalSignOut).

    GlobalSignOut takes an access token: the caller's, or, when that one is missing or refused
    (expired: the usual case for a client that comes back after an hour), a fresh one got from
    `refresh_token`. GlobalSignOut rather than RevokeToken: it works the same on AWS and on moto
    (which has no RevokeToken), and it revokes every session of the account, not just this one.
    Access tokens already issued stay verifiable until they expire (at most an hour): they are
    checked locally, by design. Returns False when nothing was revoked: no token Cognito accepts.
    """
    if access_token and _global_sign_out(access_token):
        return True
    if not refresh_token:
        return False
    try:
        access_token = session_refresh(refresh_token=refresh_token).access_token
    except InvalidRefreshToken:
        return False
    return _global_sign_out(access_token)


def user_ensure(*, email: str, password: str, staff: bool = False) -> str:
    """A confirmed user with this password (and in the staff group if `staff`); returns the id.

    For the local stack's demo users: creates them or resets their password, so a rerun of
    `make run` prints credentials that work.
    """
    config = pool_config()
    client = cognito()
    user_id = _sign_up(email=email, password=password)
    if user_id is None:
        client.admin_set_user_password(
            UserPoolId=config.pool_id, Username=email, Password=password, Permanent=True
        )
        attributes = client.admin_get_user(UserPoolId=config.pool_id, Username=email)["UserAttributes"]
        user_id = next(a["Value"] for a in attributes if a["Name"] == "sub")
    elif not settings.ACCOUNTS_AUTO_CONFIRM:
        client.admin_confirm_sign_up(UserPoolId=config.pool_id, Username=email)
    if staff:
        client.admin_add_user_to_group(
            UserPoolId=config.pool_id, Username=email, GroupName=settings.COGNITO_STAFF_GROUP
        )
    return user_id


def user_sign_in_set(*, user_id: str, enabled: bool) -> None:
    """Let the account (its Cognito `sub`) sign in again, or stop it: a disabled account's
    refresh tokens are revoked too, so it is signed out within an access token's life (an hour)."""
    config = pool_config()
    client = cognito()
    if enabled:
        client.admin_enable_user(UserPoolId=config.pool_id, Username=user_id)
    else:
        client.admin_disable_user(UserPoolId=config.pool_id, Username=user_id)
        client.admin_user_global_sign_out(UserPoolId=config.pool_id, Username=user_id)
    logger.info("Account %s sign-in %s", user_id, "enabled" if enabled else "disabled")
