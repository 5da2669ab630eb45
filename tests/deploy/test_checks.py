"""The synthesized template passes cfn-lint and cdk-nag; the stack's env passes `check --deploy`."""

import json
import os
import secrets
import subprocess
import sys

import pytest
from cfnlint.api import lint

from tests.deploy.conftest import REGION
from tests.deploy.test_stack import ROOT

# Every cdk-nag finding the stack acknowledges, reviewed: a new one must be added here, with care.
ACKNOWLEDGED_RULES = {
    "AwsSolutions-EC23",  # the public ALB's listeners
    "AwsSolutions-S1",  # the ALB access-log bucket itself
    "AwsSolutions-ECS2",  # non-secret env vars
    "AwsSolutions-SMG4",  # SECRET_KEY rotated by hand
    "AwsSolutions-IAM5",  # table/index/* from grant_*_data; ecr:GetAuthorizationToken on *; images products/*
    "AwsSolutions-CFR1",  # the image CDN: public images, no geo restriction
    "AwsSolutions-CFR2",  # the image CDN: static GET/HEAD only, no WAF
    "AwsSolutions-CFR4",  # the image CDN's default *.cloudfront.net certificate
    "AwsSolutions-COG2",  # customers' MFA optional
    "AwsSolutions-COG8",  # no Plus-plan threat protection; the app throttles sign-in
    "AwsSolutions-CFR5",  # the shop's distribution to an ALB without a certificate (a try-out): HTTP
    "AwsSolutions-IAM4",  # the CDK's BucketDeployment function: AWS's basic Lambda logging policy
    "AwsSolutions-L1",  # the CDK's BucketDeployment function: the runtime the CDK release pins
}


@pytest.mark.parametrize("shape", ["https", "http"])
def test_cfn_lint_finds_no_errors(synthesized, shape):
    template = json.dumps(synthesized[shape].template_json)
    matches = lint(template, regions=[REGION])
    errors = [f"{m.rule.id} {m.message} ({m.path})" for m in matches if m.rule.id.startswith("E")]
    assert errors == []


@pytest.mark.parametrize("shape", ["https", "http"])
def test_cdk_nag_aws_solutions_has_no_unacknowledged_finding(synthesized, shape):
    # The validation plugin interrupts synthesis on any finding not acknowledged with a reason.
    assert synthesized[shape].nag_failure is None, synthesized[shape].nag_failure


def test_each_acknowledged_finding_is_reviewed_and_has_a_reason(stack):
    metadata = json.loads((stack.outdir / "CloudCart.metadata.json").read_text())
    acknowledged = {}
    for entries in metadata.values():
        for entry in entries:
            if entry["type"] == "aws:cdk:acknowledged-rules":
                acknowledged.update(entry["data"])
    nag = {rule: reason for rule, reason in acknowledged.items() if "AwsSolutions-" in rule}
    assert nag, "cdk-nag acknowledgements are expected in the cloud assembly"
    for rule, reason in nag.items():
        base = rule.split("AwsSolutions-", 1)[1].split("[", 1)[0]
        assert f"AwsSolutions-{base}" in ACKNOWLEDGED_RULES, rule
        assert len(reason) > 40, (rule, reason)


def test_django_check_deploy_is_clean_with_the_stacks_environment(stack):
    """`DJANGO_ENV=production manage.py check --deploy` with exactly what the web task gets."""
    env = {
        # CloudFormation fills these in at deploy time (names, the ALB's DNS name, the region).
        name: value if isinstance(value, str) else "resolved-at-deploy.example.com"
        for name, value in stack.environment("web").items()
    }
    env["SECRET_KEY"] = secrets.token_urlsafe(48)  # what Secrets Manager generates: 64 characters
    # Stripe's keys, as an operator puts them in their secret.
    env |= {
        "STRIPE_SECRET_KEY": "sk_live_x",
        "STRIPE_PUBLISHABLE_KEY": "pk_live_x",
        "STRIPE_WEBHOOK_SECRET": "whsec_x",
    }
    given = {secret["Name"] for secret in stack.containers()["web"]["Secrets"]}
    assert given == {"SECRET_KEY", "STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET"}
    env["PATH"] = os.environ["PATH"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # a limit on a hang, not on speed: a loaded 2-core machine takes its time
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues (0 silenced)" in result.stdout + result.stderr


def test_the_app_entry_point_synthesizes_offline(synthesized):
    """`cdk synth` / `make synth` run deploy/app.py: no AWS account, no credentials, no lookups. The
    session's plain-HTTP template is that run's (tests/deploy/conftest.py)."""
    plain = synthesized["http"]
    assert plain.by_entry_point
    assert plain.nag_failure is None, plain.nag_failure  # app.py exited 0
    assert plain.template_json["Outputs"]["ApiUrl"]
