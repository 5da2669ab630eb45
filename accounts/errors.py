"""The account errors: bad or expired tokens, sign-in and registration failures."""

from rest_framework import exceptions, status

from cloudcart.errors import ApplicationError


class InvalidToken(ApplicationError, exceptions.AuthenticationFailed):
    """Any access token we cannot accept. An AuthenticationFailed, so DRF adds
    `WWW-Authenticate: Bearer` and answers 401."""

    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "invalid_token"
    default_detail = "The access token is invalid."


class TokenExpired(InvalidToken):
    default_code = "token_expired"
    default_detail = "The access token has expired; refresh it or sign in again."


class InvalidCredentials(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "invalid_credentials"
    default_detail = "Incorrect e-mail or password."


class InvalidRefreshToken(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "invalid_refresh_token"
    default_detail = "The refresh token is invalid, expired or revoked; sign in again."


class WeakPassword(ApplicationError):
    default_code = "weak_password"
    default_detail = (
        "The password does not meet the policy: at least 12 characters with upper and lower case "
        "letters, a digit and a symbol."
    )


class NotConfirmed(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "not_confirmed"
    default_detail = "The account is not confirmed yet: confirm it with the code sent by e-mail."


class CodeMismatch(ApplicationError):
    default_code = "code_mismatch"
    default_detail = (
        "The confirmation code is wrong or has expired, or the account needs no confirmation: "
        "sign in, or register again for a new code."
    )


class SignInChallenge(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "sign_in_challenge"
    default_detail = "This account needs a sign-in step this API does not offer (MFA or a new password)."


class LoginThrottled(ApplicationError, exceptions.Throttled):
    """Too many failed sign-ins for this account or from this address."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "throttled"
    default_detail = "Too many failed sign-ins; retry after `Retry-After` seconds."

    def __init__(self, *, wait: float) -> None:
        super().__init__()
        self.wait = wait
