"""Create the local user pool, its app client and the staff group, if missing. Safe to rerun.

Called by `manage.py bootstrap_aws` (cloudcart/bootstrap.py), which the web, worker and beat
processes of `make run` all run at once. Cognito has no conditional create and pool names are not
unique, so the first process to claim a resource (an atomic counter in the throttle table) creates
it and the others wait for it to appear; a claimant that died is replaced after the wait. On AWS
the stack owns the pool (deploy/stacks) and this never runs.
"""

import logging
import time
from collections.abc import Callable

from botocore.exceptions import ClientError
from django.conf import settings

from accounts.cognito import client_find, cognito, error_code, pool_config, pool_find
from cloudcart.throttling import ThrottleCounter

logger = logging.getLogger(__name__)

# The password policy, the same here and in the stack (deploy/stacks).
PASSWORD_POLICY = {
    "MinimumLength": 12,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
    "TemporaryPasswordValidityDays": 7,
}
# Flows the app client allows: ours (USER_PASSWORD_AUTH, refresh) and SRP for other clients.
AUTH_FLOWS = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


def _claim(resource: str) -> bool:
    """True for exactly one caller per resource: the one that should create it."""
    counter = ThrottleCounter(f"bootstrap#{resource}")
    counter.update(actions=[ThrottleCounter.hits.add(1)])
    return int(counter.hits) == 1


def _created_once(
    resource: str, *, find: Callable[[], str | None], create: Callable[[], str], wait: float
) -> str:
    found = find()
    if found:
        return found
    if _claim(resource):
        return create()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(0.2)
        found = find()
        if found:
            return found
    logger.warning("Whoever claimed %s did not create it within %.0f s; creating it here", resource, wait)
    return create()


def _pool_create(name: str) -> str:
    pool = cognito().create_user_pool(
        PoolName=name,
        UsernameAttributes=["email"],
        UsernameConfiguration={"CaseSensitive": False},
        AutoVerifiedAttributes=["email"],
        Policies={"PasswordPolicy": PASSWORD_POLICY},
        AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
        MfaConfiguration="OFF",
    )["UserPool"]
    logger.info("Created user pool %s (%s)", name, pool["Id"])
    return pool["Id"]


def _client_create(pool_id: str) -> str:
    client = cognito().create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=settings.COGNITO_CLIENT_NAME,
        GenerateSecret=False,  # the web tier signs in with USER_PASSWORD_AUTH; no secret to keep
        ExplicitAuthFlows=AUTH_FLOWS,
        PreventUserExistenceErrors="ENABLED",
        EnableTokenRevocation=True,
        AccessTokenValidity=60,
        IdTokenValidity=60,
        RefreshTokenValidity=30,
        TokenValidityUnits={"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "days"},
    )["UserPoolClient"]
    logger.info("Created app client %s for pool %s", client["ClientId"], pool_id)
    return client["ClientId"]


def staff_group_ensure(*, pool_id: str) -> None:
    try:
        cognito().create_group(
            UserPoolId=pool_id,
            GroupName=settings.COGNITO_STAFF_GROUP,
            Description="CloudCart staff: may change the catalog and read every order.",
        )
    except ClientError as exc:
        if error_code(exc) != "GroupExistsException":
            raise


def user_pool_ensure(*, wait_seconds: float = 30) -> str:
    """The local pool (email as username, password policy), its app client and the staff group.

    Returns the pool id. With COGNITO_USER_POOL_ID set, that pool is used as it is.
    """
    if settings.COGNITO_USER_POOL_ID:
        return pool_config().pool_id
    name = settings.COGNITO_USER_POOL_NAME
    pool_id = _created_once(
        f"userpool#{name}",
        find=lambda: pool_find(name=name),
        create=lambda: _pool_create(name),
        wait=wait_seconds,
    )
    _created_once(
        f"userpool-client#{pool_id}",
        find=lambda: client_find(pool_id=pool_id, name=settings.COGNITO_CLIENT_NAME),
        create=lambda: _client_create(pool_id),
        wait=wait_seconds,
    )
    staff_group_ensure(pool_id=pool_id)
    return pool_id
