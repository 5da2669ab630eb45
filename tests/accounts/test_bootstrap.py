"""`bootstrap_aws`'s user pool: created once, with its app client and staff group, however many run."""

import threading
import uuid

from django.conf import settings

from accounts.bootstrap import PASSWORD_POLICY, user_pool_ensure
from accounts.cognito import cognito, pool_config


def _pools_named(name: str) -> list[str]:
    pools = cognito().list_user_pools(MaxResults=60)["UserPools"]
    return [pool["Id"] for pool in pools if pool["Name"] == name]


def test_session_pool_has_email_usernames_policy_client_and_staff_group():
    config = pool_config()
    pool = cognito().describe_user_pool(UserPoolId=config.pool_id)["UserPool"]
    assert pool["Name"] == settings.COGNITO_USER_POOL_NAME
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["AutoVerifiedAttributes"] == ["email"]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == PASSWORD_POLICY["MinimumLength"]
    client = cognito().describe_user_pool_client(UserPoolId=config.pool_id, ClientId=config.client_id)
    client = client["UserPoolClient"]
    assert "ClientSecret" not in client
    assert {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"} <= set(client["ExplicitAuthFlows"])
    groups = cognito().list_groups(UserPoolId=config.pool_id)["Groups"]
    assert [group["GroupName"] for group in groups] == ["staff"]


def test_rerun_finds_the_same_pool_and_client():
    before = pool_config()
    assert user_pool_ensure() == before.pool_id
    assert _pools_named(settings.COGNITO_USER_POOL_NAME) == [before.pool_id]
    clients = cognito().list_user_pool_clients(UserPoolId=before.pool_id, MaxResults=60)["UserPoolClients"]
    assert [c["ClientId"] for c in clients if c["ClientName"] == settings.COGNITO_CLIENT_NAME] == [
        before.client_id
    ]


def test_concurrent_bootstraps_create_one_pool_and_one_client(settings):
    """make run's web, worker and beat all bootstrap at once: Cognito would take two pools by one name."""
    settings.COGNITO_USER_POOL_NAME = f"race-{uuid.uuid4().hex[:8]}"
    results, failures = [], []

    def run():
        try:
            results.append(user_pool_ensure(wait_seconds=30))
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    pools = _pools_named(settings.COGNITO_USER_POOL_NAME)
    assert len(pools) == 1 and set(results) == {pools[0]}
    clients = cognito().list_user_pool_clients(UserPoolId=pools[0], MaxResults=60)["UserPoolClients"]
    assert len(clients) == 1
