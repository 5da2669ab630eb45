"""The customers' user pool in the stack: what sign-in relies on, and that it can never be lost."""

from aws_cdk.assertions import Match
from django.conf import settings

from accounts.bootstrap import PASSWORD_POLICY


def _pool(stack) -> tuple[str, dict]:
    (pool,) = stack.of_type("AWS::Cognito::UserPool").items()
    return pool


def test_user_pool_signs_in_by_verified_email_with_a_strong_password_policy(stack):
    stack.template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "UsernameAttributes": ["email"],
            "AutoVerifiedAttributes": ["email"],
            "UsernameConfiguration": {"CaseSensitive": False},
            "MfaConfiguration": "OPTIONAL",
            "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
            "DeletionProtection": "ACTIVE",
            "Policies": {
                "PasswordPolicy": {
                    "MinimumLength": PASSWORD_POLICY["MinimumLength"],
                    "RequireLowercase": True,
                    "RequireUppercase": True,
                    "RequireNumbers": True,
                    "RequireSymbols": True,
                }
            },
            "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
        },
    )


def test_the_same_password_policy_as_the_local_pool():
    """bootstrap_aws's pool (moto) and the stack's agree, so a password good locally is good on AWS."""
    assert PASSWORD_POLICY["MinimumLength"] >= 12
    assert all(
        PASSWORD_POLICY[rule]
        for rule in ("RequireUppercase", "RequireLowercase", "RequireNumbers", "RequireSymbols")
    )


def test_user_pool_outlives_the_stack(stack):
    _logical_id, pool = _pool(stack)
    assert pool["DeletionPolicy"] == "Retain"
    assert pool["UpdateReplacePolicy"] == "Retain"


def test_app_client_has_no_secret_and_the_flows_the_app_uses(stack):
    stack.template.has_resource_properties(
        "AWS::Cognito::UserPoolClient",
        {
            "GenerateSecret": False,
            "ExplicitAuthFlows": Match.array_with(
                ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
            ),
            "PreventUserExistenceErrors": "ENABLED",
            "EnableTokenRevocation": True,
        },
    )


def test_staff_group_exists_in_the_pool(stack):
    pool_id, _pool_props = _pool(stack)
    stack.template.has_resource_properties(
        "AWS::Cognito::UserPoolGroup",
        {"GroupName": settings.COGNITO_STAFF_GROUP, "UserPoolId": {"Ref": pool_id}},
    )


def test_web_gets_the_pool_and_client_ids_and_only_the_staff_group_check(stack):
    from tests.deploy.test_stack import APP_CONTAINERS, _statements_of

    pool_id, _pool_props = _pool(stack)
    (client_id,) = stack.of_type("AWS::Cognito::UserPoolClient")
    env = stack.environment("web")
    assert env["COGNITO_USER_POOL_ID"] == {"Ref": pool_id}
    assert env["COGNITO_CLIENT_ID"] == {"Ref": client_id}
    # Tokens are verified against the pool's public keys; sign-in uses the public client APIs.
    # The one admin call: a staff write re-checks the caller's group (accounts/staff_check.py),
    # made by the processes that serve staff writes (web: refunds and cancels; staff: the catalog).
    granted = {}
    for container in APP_CONTAINERS:
        if container.endswith("-before"):  # a task's migration step: its app container's role
            continue
        for statement in _statements_of(stack, container):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in actions:
                if action.startswith("cognito-idp:"):
                    assert pool_id in str(statement["Resource"]), statement
                    granted.setdefault(container, set()).add(action)
    # And the back office (staff service) turns a customer's sign-in off and on.
    assert granted == {
        "web": {"cognito-idp:AdminListGroupsForUser"},
        "staff": {
            "cognito-idp:AdminListGroupsForUser",
            "cognito-idp:AdminDisableUser",
            "cognito-idp:AdminEnableUser",
            "cognito-idp:AdminUserGlobalSignOut",
            "cognito-idp:AdminGetUser",
        },
    }


def test_outputs_name_the_pool_and_the_client(stack):
    outputs = stack.template_json["Outputs"]
    assert {"UserPoolId", "UserPoolClientId"} <= set(outputs)
