"""The payments part of the stack: Stripe's keys from Secrets Manager, the webhook's route and
target group, refunds on the staff service, and the payment alarms (aws_cdk.assertions)."""

from django.conf import settings

from tests.deploy.test_stack import (
    _alarm_topic_id,
    _routed_to,
    _service_of,
    _statements_of,
    _target_group_of,
    _webhook_target_group,
)

STRIPE_KEYS = ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET")


def _stripe_secret_id(stack) -> str:
    (found,) = [
        logical_id
        for logical_id, secret in stack.of_type("AWS::SecretsManager::Secret").items()
        if str(secret["Properties"].get("Description", "")).startswith("CloudCart's Stripe keys")
    ]
    return found


def test_stripe_keys_come_from_secrets_manager_to_the_processes_that_call_stripe(stack):
    secret_id = _stripe_secret_id(stack)
    containers = stack.containers()
    for name in ("web", "staff", "worker", "beat"):
        given = {s["Name"]: s["ValueFrom"] for s in containers[name]["Secrets"]}
        for key in STRIPE_KEYS:
            # One JSON field of the one secret per variable (ECS's `arn:field::` form).
            assert given[key] == {"Fn::Join": ["", [{"Ref": secret_id}, f":{key}::"]]}, (name, key)
            assert key not in stack.environment(name), (name, key)
        assert stack.environment(name)["PAYMENTS_PROVIDER"] == "stripe"
        assert stack.environment(name)["STRIPE_API_BASE"] == ""  # Stripe itself, not localstripe
    for name in ("notifier", "seed"):  # they never call Stripe: no keys, and production starts
        assert not {s["Name"] for s in containers[name]["Secrets"]} & set(STRIPE_KEYS), name
        assert stack.environment(name)["PAYMENTS_PROVIDER"] == "none", name
    # ECS (the execution role) reads it at task start; no task role may read it at run time.
    for name in containers:
        assert not any(secret_id in str(s["Resource"]) for s in _statements_of(stack, name)), name


def test_the_stripe_secret_is_created_empty_for_an_operator_to_fill(stack):
    secret = stack.resources[_stripe_secret_id(stack)]["Properties"]
    assert "GenerateSecretString" not in secret
    assert (
        secret["SecretString"]
        == '{"STRIPE_SECRET_KEY":"","STRIPE_PUBLISHABLE_KEY":"","STRIPE_WEBHOOK_SECRET":""}'
    )


def test_stripes_webhook_reaches_web_through_its_own_target_group(synthesized):
    for stack in synthesized.values():
        webhook = _webhook_target_group(stack)
        assert webhook != _target_group_of(stack, "web")
        assert _routed_to(stack, "POST", "/webhooks/stripe") == webhook
        assert _routed_to(stack, "POST", "/webhooks/stripex") == _target_group_of(stack, "web")
        _, service = _service_of(stack, "web")
        (registered,) = [
            lb for lb in service["Properties"]["LoadBalancers"] if lb["TargetGroupArn"] == webhook
        ]
        assert registered["ContainerName"] == "web"
        (group,) = [
            g
            for k, g in stack.of_type("AWS::ElasticLoadBalancingV2::TargetGroup").items()
            if {"Ref": k} == webhook
        ]
        assert group["Properties"]["HealthCheckPath"] == "/healthz"


def test_webhook_errors_raise_an_alarm(stack):
    webhook_name = {"Fn::GetAtt": [_webhook_target_group(stack)["Ref"], "TargetGroupFullName"]}
    (alarm,) = [
        a["Properties"]
        for a in stack.of_type("AWS::CloudWatch::Alarm").values()
        if "Metrics" in a["Properties"] and "webhook" in a["Properties"]["AlarmDescription"].lower()
    ]
    assert alarm["AlarmActions"] == [{"Ref": _alarm_topic_id(stack)}]
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    counted = {
        m["MetricStat"]["Metric"]["MetricName"]: m["MetricStat"]["Metric"]["Dimensions"]
        for m in alarm["Metrics"]
        if "MetricStat" in m
    }
    assert set(counted) == {"HTTPCode_Target_4XX_Count", "HTTPCode_Target_5XX_Count"}
    for dimensions in counted.values():
        assert {"Name": "TargetGroup", "Value": webhook_name} in dimensions


def test_an_order_awaiting_payment_past_the_payment_timeout_raises_an_alarm(stack):
    stack.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmActions": [{"Ref": _alarm_topic_id(stack)}],
            "Namespace": "CloudCart/CloudCart",
            "MetricName": "OldestAwaitingPaymentAgeSeconds",
            "Statistic": "Maximum",
            "Threshold": settings.PAYMENT_TIMEOUT_SECONDS + settings.PAYMENTS_RECONCILE_INTERVAL_SECONDS,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        },
    )


def test_only_the_notifier_may_text_customers(stack):
    for name in stack.containers():
        sms = [s for s in _statements_of(stack, name) if s.get("Sid") == "SmsToPhoneNumbers"]
        if name == "notifier":
            assert sms == [
                {"Action": "sns:Publish", "Effect": "Allow", "Resource": "*", "Sid": "SmsToPhoneNumbers"}
            ]
        else:
            assert sms == [], name


def test_beat_runs_the_payments_reconciler_on_workers_that_hold_stripes_keys(stack):
    """Beat publishes the payments reconciler; the worker runs it with Stripe's keys and puts its
    metric in the stack's namespace (the AwaitingPaymentStuck alarm's)."""
    schedule = settings.CELERY_BEAT_SCHEDULE["payments-reconcile"]
    assert schedule["task"] == "payments.tasks.payments_reconcile"
    assert schedule["schedule"] == settings.PAYMENTS_RECONCILE_INTERVAL_SECONDS
    containers = stack.containers()
    assert "beat" in containers["beat"]["Command"]
    assert {"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"} <= {
        s["Name"] for s in containers["worker"]["Secrets"]
    }
    puts = [s for s in _statements_of(stack, "worker") if s["Action"] == "cloudwatch:PutMetricData"]
    assert puts and all(
        s["Condition"] == {"StringEquals": {"cloudwatch:namespace": "CloudCart/CloudCart"}} for s in puts
    )
