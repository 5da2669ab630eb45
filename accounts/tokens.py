"""Verify a Cognito access token locally: no network call per request.

The pool's public keys come from its JWKS URL through PyJWT's `PyJWKClient`, cached per process
(the set for COGNITO_JWKS_CACHE_SECONDS, each key once seen) and fetched again once, at most every
COGNITO_JWKS_REFETCH_SECONDS, when a token names a `kid` the cache does not know (Cognito rotating its keys).
Accepted: RS256 only, a good signature, `exp` and `iat` within the leeway, our pool's `iss`,
`token_use == "access"` and our app client's `client_id`. Anything else is rejected.
"""

import functools
import logging

import jwt
from django.conf import settings

from accounts.cognito import pool_config
from accounts.errors import InvalidToken, TokenExpired
from cloudcart.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

ALGORITHMS = ["RS256"]
REQUIRED_CLAIMS = ["exp", "iat", "iss", "sub", "token_use", "client_id"]
# A JWT is three base64url parts; anything far longer than Cognito's (~1-2 kB) is not one of ours.
MAX_TOKEN_LENGTH = 8192


@functools.cache
def _jwks_client(url: str, cooldown_seconds: float) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(
        url,
        cache_keys=True,
        lifespan=settings.COGNITO_JWKS_CACHE_SECONDS,
        timeout=settings.AWS_CONNECT_TIMEOUT + settings.AWS_READ_TIMEOUT,
        # An unknown kid refetches the set at most this often: forged kids cannot hammer Cognito.
        cooldown_duration=cooldown_seconds,
    )


def _signing_key(token: str, *, jwks_url: str):
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken() from exc
    # Refuse before any key lookup: `alg: none`, HS256 (a public key used as an HMAC secret) and
    # a missing kid never reach the JWKS client.
    if header.get("alg") not in ALGORITHMS or not isinstance(header.get("kid"), str):
        raise InvalidToken()
    try:
        return (
            _jwks_client(jwks_url, settings.COGNITO_JWKS_REFETCH_SECONDS).get_signing_key(header["kid"]).key
        )
    except jwt.PyJWKClientConnectionError as exc:
        logger.warning("Cognito's JWKS is unreachable: %s", exc)
        raise ServiceUnavailable() from exc
    except jwt.PyJWKClientError as exc:  # unknown kid, even after a refetch
        raise InvalidToken() from exc


def access_token_claims(token: str) -> dict:
    """The verified claims of a Cognito access token; InvalidToken / TokenExpired otherwise."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken()
    config = pool_config()
    key = _signing_key(token, jwks_url=config.jwks_url)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            issuer=config.issuer,
            leeway=settings.COGNITO_TOKEN_LEEWAY_SECONDS,
            options={"require": REQUIRED_CLAIMS, "verify_aud": False},  # access tokens carry no aud
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired() from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken() from exc
    if claims.get("token_use") != "access" or claims.get("client_id") != config.client_id:
        raise InvalidToken()
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise InvalidToken()
    return claims
