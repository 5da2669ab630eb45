"""Bearer access tokens from the session's real moto Cognito pool, and every way to fake one.

Forged tokens are signed with a key generated here and served from a JWKS URL the app is pointed
at (tests/accounts/jwks.py): then a token fails for the one reason under test, not for its key.
"""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from django.conf import settings

from accounts.cognito import cognito, pool_config
from tests.accounts.jwks import JwksServer, rsa_key
from tests.accounts.support import (
    PASSWORD,
    access_token_for,
    bearer,
    email_new,
    tokens_for,
    user_create,
)


def _me(api, token: str):
    return api.get("/me", **bearer(token))


def _assert_rejected(response, code: str = "invalid_token") -> None:
    assert response.status_code == 401, response.content
    assert response.json()["code"] == code
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_me_answers_the_signed_in_customer(api):
    email = email_new()
    user_id = user_create(email=email)
    response = _me(api, access_token_for(email=email))
    assert response.status_code == 200, response.content
    assert response.json() == {"id": user_id, "email": email, "is_staff": False}


def test_me_says_staff_for_the_staff_group(api):
    email = email_new("staff")
    user_create(email=email, staff=True)
    assert _me(api, access_token_for(email=email)).json()["is_staff"] is True


def test_customer_and_staff_fixtures_are_real_tokens(api, customer_token, staff_token):
    assert _me(api, customer_token).json()["is_staff"] is False
    assert _me(api, staff_token).json()["is_staff"] is True


def test_anonymous_me_is_401_not_authenticated(api):
    response = api.get("/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"


def test_anonymous_requests_still_work_elsewhere(api):
    assert api.get("/cart").status_code == 200


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["cognito:groups"] = ["staff"]
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def test_tampered_payload_is_rejected(api, customer_token):
    _assert_rejected(_me(api, _tampered(customer_token)))


def test_tampered_signature_is_rejected(api, customer_token):
    header, payload, signature = customer_token.split(".")
    flipped = ("A" if signature[10] != "A" else "B").join([signature[:10], signature[11:]])
    _assert_rejected(_me(api, f"{header}.{payload}.{flipped}"))


def _claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_alg_none_token_is_rejected(api, customer_token):
    claims = _claims_of(customer_token)
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "dummy"})
    _assert_rejected(_me(api, unsigned))
    # The same with the signature part left on.
    header = _b64(b'{"alg":"none","kid":"dummy"}')
    _, payload, signature = customer_token.split(".")
    _assert_rejected(_me(api, f"{header}.{payload}.{signature}"))


def test_hs256_token_signed_with_the_public_key_is_rejected(api, customer_token):
    """The classic confusion attack: the pool's public key (anyone can fetch it) as an HMAC secret."""
    jwks = requests.get(pool_config().jwks_url, timeout=5).json()
    public_pem = jwt.PyJWK(jwks["keys"][0]).key.public_bytes(
        encoding=serialization.Encoding.PEM, format=serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # PyJWT refuses a PEM key as an HMAC secret; sign by hand, as an attacker would.
    header = _b64(json.dumps({"alg": "HS256", "kid": "dummy", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims_of(customer_token)).encode())
    signature = _b64(hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    _assert_rejected(_me(api, f"{header}.{payload}.{signature}"))


def test_id_token_is_not_an_access_token(api):
    email = email_new()
    user_create(email=email)
    _assert_rejected(_me(api, tokens_for(email=email)["IdToken"]))


def test_token_from_another_pool_is_rejected(api):
    """moto signs every pool's tokens with one key: only the issuer tells them apart."""
    client = cognito()
    other = client.create_user_pool(PoolName=f"other-{email_new()}", UsernameAttributes=["email"])["UserPool"]
    other_client = client.create_user_pool_client(
        UserPoolId=other["Id"], ClientName="other", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    email = email_new()
    client.sign_up(ClientId=other_client, Username=email, Password="Other-passw0rd-long")
    client.admin_confirm_sign_up(UserPoolId=other["Id"], Username=email)
    token = client.initiate_auth(
        ClientId=other_client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": "Other-passw0rd-long"},
    )["AuthenticationResult"]["AccessToken"]
    assert _claims_of(token)["iss"] != pool_config().issuer
    _assert_rejected(_me(api, token))


def test_token_for_another_app_client_of_our_pool_is_rejected(api):
    config = pool_config()
    client = cognito()
    other_client = client.create_user_pool_client(
        UserPoolId=config.pool_id, ClientName="another-app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    email = email_new()
    user_create(email=email)
    token = client.initiate_auth(
        ClientId=other_client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["AccessToken"]
    assert _claims_of(token)["iss"] == config.issuer
    _assert_rejected(_me(api, token))


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Bearer " + "A" * 10000,
        "Bearer eyJhbGciOiJSUzI1NiJ9.e30.",
        "Bearer \u00e9\u00e9.\u00e9.\u00e9",
    ],
)
def test_garbage_authorization_header_is_401_on_any_endpoint(api, header):
    _assert_rejected(api.get("/products", HTTP_AUTHORIZATION=header))


# --- Forged with our own key, served from a JWKS URL the app trusts for these tests ----------------


@pytest.fixture
def trusted_key(settings):
    """A key generated here, served as the pool's JWKS; returns a signer for claim sets."""
    key = rsa_key()
    with JwksServer([key]) as server:
        settings.COGNITO_JWKS_URL = server.url
        yield key


def _valid_claims(**overrides) -> dict:
    config = pool_config()
    now = int(time.time())
    claims = {
        "sub": "forged-sub-0000",
        "iss": config.issuer,
        "client_id": config.client_id,
        "token_use": "access",
        "iat": now,
        "exp": now + 600,
        "cognito:groups": ["staff"],
    }
    claims.update(overrides)
    return claims


def test_a_token_signed_by_the_trusted_key_passes_control(api, trusted_key):
    """The control for the tests below: with nothing wrong, a forged-key token is accepted."""
    from accounts.tokens import access_token_claims

    token = trusted_key.sign(_valid_claims())
    assert access_token_claims(token)["sub"] == "forged-sub-0000"
    assert api.get("/cart", **bearer(token)).status_code == 200


def test_expired_token_is_401_token_expired(api, trusted_key):
    now = int(time.time())
    token = trusted_key.sign(_valid_claims(iat=now - 7200, exp=now - 3600))
    _assert_rejected(api.get("/cart", **bearer(token)), code="token_expired")


def test_token_within_the_leeway_of_expiry_is_accepted(api, trusted_key):
    now = int(time.time())
    token = trusted_key.sign(
        _valid_claims(iat=now - 3600, exp=now - settings.COGNITO_TOKEN_LEEWAY_SECONDS // 2)
    )
    assert api.get("/cart", **bearer(token)).status_code == 200


def test_token_issued_in_the_future_is_rejected(api, trusted_key):
    now = int(time.time())
    token = trusted_key.sign(_valid_claims(iat=now + 3600, exp=now + 7200))
    _assert_rejected(api.get("/cart", **bearer(token)))


def test_token_not_yet_valid_by_nbf_is_rejected(api, trusted_key):
    now = int(time.time())
    token = trusted_key.sign(_valid_claims(nbf=now + 3600))
    _assert_rejected(api.get("/cart", **bearer(token)))


@pytest.mark.parametrize("missing", ["exp", "iat", "iss", "sub", "token_use", "client_id"])
def test_token_missing_a_required_claim_is_rejected(api, trusted_key, missing):
    claims = _valid_claims()
    del claims[missing]
    _assert_rejected(api.get("/cart", **bearer(trusted_key.sign(claims))))


@pytest.mark.parametrize(
    "overrides",
    [{"token_use": "id"}, {"client_id": "someone-else"}, {"iss": "https://evil.example.com/pool"}],
)
def test_token_with_a_wrong_claim_is_rejected(api, trusted_key, overrides):
    _assert_rejected(api.get("/cart", **bearer(trusted_key.sign(_valid_claims(**overrides)))))


def test_token_signed_by_an_untrusted_key_with_a_trusted_kid_is_rejected(api, trusted_key):
    impostor = rsa_key(kid=trusted_key.kid)
    _assert_rejected(api.get("/cart", **bearer(impostor.sign(_valid_claims()))))


def test_unknown_kid_refetches_the_keys_once(api, settings):
    """Cognito rotates keys: a token with a kid the cache lacks makes one refetch, then verifies."""
    settings.COGNITO_JWKS_REFETCH_SECONDS = 0.0
    old, new = rsa_key(kid="old"), rsa_key(kid="new")
    with JwksServer([old]) as server:
        settings.COGNITO_JWKS_URL = server.url
        assert api.get("/cart", **bearer(old.sign(_valid_claims()))).status_code == 200
        fetches = server.fetches
        _assert_rejected(api.get("/cart", **bearer(new.sign(_valid_claims()))))
        assert server.fetches == fetches + 1  # refetched once, still unknown
        server.keys = [old, new]  # the rotation is published
        assert api.get("/cart", **bearer(new.sign(_valid_claims()))).status_code == 200
        # Both keys are now cached: no more fetches for either.
        fetches = server.fetches
        for key in (old, new, old):
            assert api.get("/cart", **bearer(key.sign(_valid_claims()))).status_code == 200
        assert server.fetches == fetches


def test_unknown_kids_do_not_hammer_the_jwks_endpoint(api, settings):
    settings.COGNITO_JWKS_REFETCH_SECONDS = 60.0
    known = rsa_key(kid="known")
    with JwksServer([known]) as server:
        settings.COGNITO_JWKS_URL = server.url
        assert api.get("/cart", **bearer(known.sign(_valid_claims()))).status_code == 200
        fetches = server.fetches
        for i in range(5):
            _assert_rejected(api.get("/cart", **bearer(rsa_key(kid=f"forged-{i}").sign(_valid_claims()))))
        assert server.fetches <= fetches + 1


def test_unreachable_jwks_is_503_not_401(api, settings, trusted_key):
    from tests.aws_env import free_port

    settings.COGNITO_JWKS_URL = f"http://127.0.0.1:{free_port()}/jwks.json"
    response = api.get("/cart", **bearer(trusted_key.sign(_valid_claims())))
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert response["Retry-After"]
