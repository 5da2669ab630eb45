"""Account reads from Cognito on the caller's behalf."""

from botocore.exceptions import ClientError

from accounts.cognito import cognito, error_code, pool_config
from accounts.errors import InvalidToken


def user_email_get(*, access_token: str) -> str | None:
    """The e-mail of the account the access token belongs to (Cognito GetUser).

    Cognito refuses a token it has revoked (sign-out), though it still verifies locally: that
    caller is treated as signed out.
    """
    try:
        answer = cognito().get_user(AccessToken=access_token)
    except ClientError as exc:
        if error_code(exc) in ("NotAuthorizedException", "UserNotFoundException"):
            raise InvalidToken() from exc
        raise
    attributes = {attribute["Name"]: attribute["Value"] for attribute in answer["UserAttributes"]}
    return attributes.get("email")


def user_sign_in_enabled(*, user_id: str) -> bool:
    """Whether the account (its Cognito `sub`) may sign in (AdminGetUser's `Enabled`)."""
    answer = cognito().admin_get_user(UserPoolId=pool_config().pool_id, Username=user_id)
    return bool(answer.get("Enabled", True))
