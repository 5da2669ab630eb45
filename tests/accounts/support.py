"""Accounts for tests: real users in the session's moto Cognito pool, and their real tokens."""

import uuid

from django.conf import settings

from accounts.cognito import cognito, pool_config

PASSWORD = "Test-passw0rd-long"


def email_new(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def user_create(*, email: str, password: str = PASSWORD, staff: bool = False) -> str:
    """Sign a confirmed user up (in the staff group if `staff`); return their id (`sub`)."""
    config = pool_config()
    client = cognito()
    answer = client.sign_up(ClientId=config.client_id, Username=email, Password=password)
    client.admin_confirm_sign_up(UserPoolId=config.pool_id, Username=email)
    if staff:
        client.admin_add_user_to_group(
            UserPoolId=config.pool_id, Username=email, GroupName=settings.COGNITO_STAFF_GROUP
        )
    return answer["UserSub"]


def tokens_for(*, email: str, password: str = PASSWORD) -> dict:
    """Cognito's AuthenticationResult for USER_PASSWORD_AUTH (AccessToken, IdToken, RefreshToken)."""
    answer = cognito().initiate_auth(
        ClientId=pool_config().client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    return answer["AuthenticationResult"]


def access_token_for(*, email: str, password: str = PASSWORD) -> str:
    return tokens_for(email=email, password=password)["AccessToken"]


def bearer(token: str) -> dict:
    """APIClient keyword arguments for an `Authorization: Bearer` header."""
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
