"""The /auth/* flow against the session's real moto Cognito: register, confirm, sign in, refresh,
sign out; Cognito's errors as ours; brute-force sign-in throttled; Cognito down is a 503."""

import logging
import time
import uuid

import jwt
import pytest
import requests
from django.conf import settings as django_settings
from django.core.management import call_command

from accounts.cognito import pool_config
from tests.accounts.cognito_as_aws import CognitoAsAws
from tests.accounts.jwks import rsa_key
from tests.accounts.support import PASSWORD, access_token_for, bearer, email_new, user_create
from tests.aws_env import free_port
from tests.processes import Gunicorn


def _address() -> str:
    return f"203.0.113.{uuid.uuid4().int % 250 + 1}"


def _login(api, email: str, password: str = PASSWORD, address: str | None = None):
    return api.post(
        "/auth/login",
        {"email": email, "password": password},
        format="json",
        REMOTE_ADDR=address or _address(),
    )


def test_register_then_sign_in_then_me(api):
    email = email_new()
    registered = api.post("/auth/register", {"email": email, "password": PASSWORD}, format="json")
    assert registered.status_code == 202, registered.content
    body = registered.json()
    assert body["email"] == email and body["confirmed"] is True
    signed_in = _login(api, email)
    assert signed_in.status_code == 200, signed_in.content
    tokens = signed_in.json()
    assert set(tokens) == {"access_token", "id_token", "refresh_token", "expires_in", "token_type"}
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] > 0
    me = api.get("/me", **bearer(tokens["access_token"]))
    assert me.json()["email"] == email and me.json()["is_staff"] is False and me.json()["id"]


def test_register_answers_alike_for_a_new_and_an_existing_account(api):
    """The pool hides whether an account exists (PreventUserExistenceErrors); so does register."""
    email = email_new()
    first = api.post("/auth/register", {"email": email, "password": PASSWORD}, format="json")
    again = api.post("/auth/register", {"email": email, "password": "Other-passw0rd-long"}, format="json")
    fresh = api.post("/auth/register", {"email": email_new(), "password": PASSWORD}, format="json")
    assert first.status_code == again.status_code == fresh.status_code == 202
    assert again.json() == first.json() == {**fresh.json(), "email": email}
    # Registering again changed nothing: the first password still signs in.
    assert _login(api, email).status_code == 200


def test_a_weak_password_is_refused_alike_for_a_new_and_an_existing_account(api):
    email = email_new()
    user_create(email=email)
    existing = api.post("/auth/register", {"email": email, "password": "weak"}, format="json")
    new = api.post("/auth/register", {"email": email_new(), "password": "weak"}, format="json")
    assert existing.status_code == new.status_code == 400
    assert existing.json() == new.json()
    assert new.json()["code"] == "weak_password"


@pytest.mark.parametrize(
    "password", ["short1A", "alllowercase-and-long-1", "NoDigitsInThisOne", "1234567890123"]
)
def test_register_with_a_weak_password_is_400_weak_password(api, password):
    response = api.post("/auth/register", {"email": email_new(), "password": password}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "weak_password"


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "not-an-email", "password": PASSWORD}, {"email": "a@example.com"}, {"password": PASSWORD}],
)
def test_register_with_bad_fields_is_400_invalid(api, body):
    response = api.post("/auth/register", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_confirmation_flow_where_the_pool_requires_it(api, settings):
    settings.ACCOUNTS_AUTO_CONFIRM = False
    email = email_new()
    registered = api.post("/auth/register", {"email": email, "password": PASSWORD}, format="json")
    assert registered.json()["confirmed"] is False
    refused = _login(api, email)
    assert refused.status_code == 403
    assert refused.json()["code"] == "not_confirmed"
    # moto accepts any code (real Cognito checks the e-mailed one; its mismatch maps to code_mismatch).
    confirmed = api.post("/auth/confirm", {"email": email, "code": "123456"}, format="json")
    assert confirmed.status_code == 200 and confirmed.json() == {"confirmed": True}
    assert _login(api, email).status_code == 200
    # Confirming again: see test_confirm_answers_alike_for_an_unknown_and_a_known_account.


def test_confirm_answers_alike_for_an_unknown_and_a_known_account():
    """Through a stand-in that answers ConfirmSignUp as Cognito does (moto accepts any code for
    any user): an account confirmed already must answer as an unknown e-mail does."""
    known = email_new()
    user_create(email=known)
    config = pool_config()
    with CognitoAsAws(django_settings.COGNITO_ENDPOINT_URL) as cognito_as_aws:
        server = Gunicorn(
            free_port(),
            env={
                "COGNITO_ENDPOINT_URL": cognito_as_aws.url,
                "COGNITO_USER_POOL_ID": config.pool_id,
                "COGNITO_CLIENT_ID": config.client_id,
            },
            name="confirm-alike",
        )
        try:
            answers = [
                requests.post(
                    f"{server.url}/auth/confirm", json={"email": email, "code": "123456"}, timeout=60
                )
                for email in (email_new(), known)
            ]
        finally:
            server.stop()
    assert [answer.status_code for answer in answers] == [400, 400]
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["code"] == "code_mismatch"


def test_wrong_password_and_unknown_account_answer_the_same(api):
    email = email_new()
    user_create(email=email)
    wrong = _login(api, email, "Wrong-passw0rd-long")
    unknown = _login(api, email_new(), PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {"code": "invalid_credentials", "detail": "Incorrect e-mail or password."}
    )
    assert "WWW-Authenticate" not in wrong


def test_refresh_gives_a_working_access_token(api):
    email = email_new()
    user_create(email=email)
    tokens = _login(api, email).json()
    refreshed = api.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]}, format="json")
    assert refreshed.status_code == 200, refreshed.content
    body = refreshed.json()
    assert "refresh_token" not in body
    assert api.get("/me", **bearer(body["access_token"])).json()["email"] == email


def test_refresh_with_a_garbage_token_is_401_invalid_refresh_token(api):
    response = api.post("/auth/refresh", {"refresh_token": "not-a-refresh-token"}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"


def test_refresh_token_is_dead_after_logout(api):
    email = email_new()
    user_create(email=email)
    tokens = _login(api, email).json()
    assert (
        api.post("/auth/logout", {"refresh_token": tokens["refresh_token"]}, format="json").status_code == 204
    )
    after = api.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]}, format="json")
    assert after.status_code == 401
    assert after.json()["code"] == "invalid_refresh_token"
    # Signing out again is harmless, and says that nothing more was revoked.
    again = api.post("/auth/logout", {"refresh_token": tokens["refresh_token"]}, format="json")
    assert again.status_code == 200
    assert again.json()["revoked"] is False


def test_logout_with_an_expired_access_token_revokes_the_refresh_token(api):
    """The client that comes back after an hour: its access token has expired, its refresh token
    has not. Cognito refuses the expired token; the refresh token is what must be revoked."""
    email = email_new()
    user_create(email=email)
    tokens = _login(api, email).json()
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    expired = rsa_key().sign({**claims, "iat": claims["iat"] - 7200, "exp": claims["iat"] - 3600})
    response = api.post(
        "/auth/logout", {"refresh_token": tokens["refresh_token"]}, format="json", **bearer(expired)
    )
    assert response.status_code == 204, response.content
    after = api.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]}, format="json")
    assert after.status_code == 401
    assert after.json()["code"] == "invalid_refresh_token"


def test_logout_with_no_valid_token_says_nothing_was_revoked(api):
    response = api.post("/auth/logout", {"refresh_token": "not-a-refresh-token"}, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "revoked": False,
        "detail": "Nothing was revoked: send a refresh token (or an access token) that is still valid. "
        "A session signed out already needs nothing more.",
    }


def test_logout_with_the_access_token_revokes_the_refresh_token(api):
    email = email_new()
    user_create(email=email)
    tokens = _login(api, email).json()
    assert api.post("/auth/logout", {}, format="json", **bearer(tokens["access_token"])).status_code == 204
    after = api.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]}, format="json")
    assert after.status_code == 401
    # Cognito refuses the revoked access token: /me (which asks Cognito for the e-mail) says so.
    assert api.get("/me", **bearer(tokens["access_token"])).status_code == 401


def test_a_stale_authorization_header_does_not_block_sign_in(api):
    email = email_new()
    user_create(email=email)
    response = api.post(
        "/auth/login",
        {"email": email, "password": PASSWORD},
        format="json",
        HTTP_AUTHORIZATION="Bearer stale",
    )
    assert response.status_code == 200


def test_brute_force_on_one_account_is_429_even_with_the_right_password(api, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    email = email_new()
    user_create(email=email)
    statuses = [_login(api, email, "Wrong-passw0rd-long").status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    blocked = _login(api, email)  # the right password, from a fresh address
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "throttled"
    assert 1 <= int(blocked["Retry-After"]) <= settings.LOGIN_LOCK_SECONDS + 1
    # Another account is not affected.
    other = email_new()
    user_create(email=other)
    assert _login(api, other).status_code == 200


def test_brute_force_from_one_address_is_429_across_accounts(api, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 4
    address = _address() + f"-{uuid.uuid4().hex[:6]}"
    statuses = [
        _login(api, email_new(), "Wrong-passw0rd-long", address=address).status_code for _ in range(4)
    ]
    assert statuses == [401] * 4
    email = email_new()
    user_create(email=email)
    assert _login(api, email, address=address).status_code == 429
    assert _login(api, email).status_code == 200  # from another address


def test_successful_sign_ins_do_not_count_as_failures(api, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    email = email_new()
    user_create(email=email)
    assert [_login(api, email).status_code for _ in range(4)] == [200] * 4


def test_the_login_guard_is_shared_by_all_gunicorn_workers():
    """Failures counted in one worker stop a sign-in in another: the count lives in DynamoDB."""
    email = email_new()
    user_create(email=email)
    server = Gunicorn(
        free_port(), env={"LOGIN_FAILURES_PER_ACCOUNT": "3", "WEB_CONCURRENCY": "3"}, name="login-guard"
    )
    try:
        statuses = []
        for _ in range(5):
            with requests.Session() as fresh:  # a new connection: any worker may answer
                statuses.append(
                    fresh.post(
                        f"{server.url}/auth/login",
                        json={"email": email, "password": "Wrong-passw0rd-long"},
                        timeout=30,
                    ).status_code
                )
        assert statuses == [401, 401, 401, 429, 429]
    finally:
        server.stop()


def test_passwords_and_tokens_never_reach_the_logs(api, caplog):
    caplog.set_level(logging.DEBUG)
    email = email_new()
    password = f"Secret-{uuid.uuid4().hex[:10]}-X1"
    api.post("/auth/register", {"email": email, "password": password}, format="json")
    tokens = _login(api, email, password).json()
    _login(api, email, "Wrong-" + password)
    api.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]}, format="json")
    api.get("/me", **bearer(tokens["access_token"]))
    api.post("/auth/logout", {"refresh_token": tokens["refresh_token"]}, format="json")
    logged = caplog.text
    assert logged  # something was logged at DEBUG, so the check below means something
    for secret in (password, tokens["access_token"], tokens["refresh_token"], tokens["id_token"]):
        assert secret not in logged


def test_cognito_down_is_503_with_retry_after():
    config = pool_config()
    server = Gunicorn(
        free_port(),
        env={
            "COGNITO_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens there
            "COGNITO_USER_POOL_ID": config.pool_id,
            "COGNITO_CLIENT_ID": config.client_id,
        },
        name="cognito-down",
    )
    try:
        started = time.monotonic()
        response = requests.post(
            f"{server.url}/auth/login", json={"email": email_new(), "password": PASSWORD}, timeout=60
        )
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "service_unavailable"
        assert int(response.headers["Retry-After"]) > 0
        assert time.monotonic() - started < 20
        register = requests.post(
            f"{server.url}/auth/register", json={"email": email_new(), "password": PASSWORD}, timeout=60
        )
        assert register.status_code == 503
    finally:
        server.stop()


def test_demo_users_command_creates_both_and_is_rerunnable(api, settings):
    settings.DEMO_CUSTOMER_EMAIL, settings.DEMO_STAFF_EMAIL = email_new("demo"), email_new("demostaff")
    call_command("demo_users")
    call_command("demo_users")
    customer = access_token_for(email=settings.DEMO_CUSTOMER_EMAIL, password=settings.DEMO_CUSTOMER_PASSWORD)
    staff = access_token_for(email=settings.DEMO_STAFF_EMAIL, password=settings.DEMO_STAFF_PASSWORD)
    assert api.get("/me", **bearer(customer)).json()["is_staff"] is False
    assert api.get("/me", **bearer(staff)).json()["is_staff"] is True
