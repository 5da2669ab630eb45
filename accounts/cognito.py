"""The Cognito user pool this process talks to: its ids, issuer and key URL, and its client.

Production gets the pool and app client ids from the stack (settings). Locally they are empty and
found by name on moto, where `bootstrap_aws` created them; the answer is kept for the life of the
process (it is configuration, not state).
"""

import functools
from dataclasses import dataclass

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from cloudcart import aws
from cloudcart.errors import ServiceUnavailable

SERVICE = "cognito-idp"


@dataclass(frozen=True)
class PoolConfig:
    pool_id: str
    client_id: str
    issuer: str
    jwks_url: str


def cognito():
    """The process's boto3 client for Cognito user pools (moto's endpoint locally)."""
    return aws.client(SERVICE)


class PoolMissing(ServiceUnavailable):
    """Locally: the pool or its app client is not there (yet): `bootstrap_aws` creates them."""

    default_detail = "The user pool is not set up yet; please retry shortly."


def pool_find(*, name: str) -> str | None:
    """The id of the pool named `name` (the smallest id if a race left two), or None."""
    ids = []
    for page in cognito().get_paginator("list_user_pools").paginate(MaxResults=60):
        ids += [pool["Id"] for pool in page["UserPools"] if pool["Name"] == name]
    return min(ids) if ids else None


def client_find(*, pool_id: str, name: str) -> str | None:
    """The id of the pool's app client named `name` (the smallest id if a race left two), or None."""
    ids = []
    paginator = cognito().get_paginator("list_user_pool_clients")
    for page in paginator.paginate(UserPoolId=pool_id, MaxResults=60):
        ids += [client["ClientId"] for client in page["UserPoolClients"] if client["ClientName"] == name]
    return min(ids) if ids else None


def issuer_for(*, pool_id: str) -> str:
    """The `iss` of the pool's tokens: the real AWS URL, also on moto."""
    return settings.COGNITO_ISSUER or f"https://cognito-idp.{settings.AWS_REGION}.amazonaws.com/{pool_id}"


def jwks_url_for(*, pool_id: str) -> str:
    if settings.COGNITO_JWKS_URL:
        return settings.COGNITO_JWKS_URL
    if settings.COGNITO_ENDPOINT_URL:
        # moto serves each pool's keys under its own endpoint, not under the issuer's host.
        return f"{settings.COGNITO_ENDPOINT_URL.rstrip('/')}/{pool_id}/.well-known/jwks.json"
    return f"{issuer_for(pool_id=pool_id)}/.well-known/jwks.json"


@functools.cache
def _pool_ids() -> tuple[str, str]:
    """(pool id, app client id). Cached per process; a failed look-up is not cached."""
    pool_id, client_id = settings.COGNITO_USER_POOL_ID, settings.COGNITO_CLIENT_ID
    if pool_id and client_id:
        return pool_id, client_id
    if settings.IS_PRODUCTION:
        raise ImproperlyConfigured("COGNITO_USER_POOL_ID and COGNITO_CLIENT_ID must be set in production.")
    try:
        pool_id = pool_id or pool_find(name=settings.COGNITO_USER_POOL_NAME)
        if pool_id and not client_id:
            client_id = client_find(pool_id=pool_id, name=settings.COGNITO_CLIENT_NAME)
    except ClientError as exc:
        raise PoolMissing() from exc
    if not (pool_id and client_id):
        raise PoolMissing()
    return pool_id, client_id


def pool_config() -> PoolConfig:
    """The pool and app client in use, with the issuer and key URL their tokens are checked against."""
    pool_id, client_id = _pool_ids()
    return PoolConfig(
        pool_id=pool_id,
        client_id=client_id,
        issuer=issuer_for(pool_id=pool_id),
        jwks_url=jwks_url_for(pool_id=pool_id),
    )


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")
