"""Limits and alarms in the stack: the WAF rate rule on checkouts per address, and alarms that
can fire when notifications pile up or the reconciler fails every run."""

import json

from django.conf import settings

from cloudcart.metrics import OLDEST_PENDING_ORDER_AGE


def _load_balancer_id(stack) -> str:
    (logical_id,) = stack.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer")
    return logical_id


def test_checkouts_per_address_are_rate_limited_at_the_load_balancer(stack):
    ((acl_id, acl),) = stack.of_type("AWS::WAFv2::WebACL").items()
    props = acl["Properties"]
    assert props["Scope"] == "REGIONAL" and props["DefaultAction"] == {"Allow": {}}
    (rule,) = props["Rules"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "IP"
    assert 10 <= rate["Limit"] <= 200 and rate["EvaluationWindowSec"] == 300
    matches = [s["ByteMatchStatement"] for s in rate["ScopeDownStatement"]["AndStatement"]["Statements"]]
    assert {(m["SearchString"], m["PositionalConstraint"], *m["FieldToMatch"]) for m in matches} == {
        ("POST", "EXACTLY", "Method"),
        ("/checkout", "STARTS_WITH", "UriPath"),
    }
    # Refused like the app refuses: 429, `throttled`, Retry-After.
    block = rule["Action"]["Block"]["CustomResponse"]
    assert block["ResponseCode"] == 429
    body = props["CustomResponseBodies"][block["CustomResponseBodyKey"]]
    assert json.loads(body["Content"])["code"] == "throttled"
    assert block["ResponseHeaders"] == [{"Name": "Retry-After", "Value": "300"}]
    stack.template.has_resource_properties(
        "AWS::WAFv2::WebACLAssociation",
        {"ResourceArn": {"Ref": _load_balancer_id(stack)}, "WebACLArn": {"Fn::GetAtt": [acl_id, "Arn"]}},
    )


def test_the_plain_http_shape_is_limited_too(synthesized):
    assert len(synthesized["http"].of_type("AWS::WAFv2::WebACLAssociation")) == 1


def _alarms(stack, metric_name: str) -> list[dict]:
    return [
        alarm["Properties"]
        for alarm in stack.of_type("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == metric_name
    ]


def test_notifications_piling_up_with_no_notifier_raise_an_alarm(stack):
    """No notifier running means no receives, so nothing ever reaches the DLQ: the queue's own
    oldest message age is what shows it."""
    queue_url = stack.environment("notifier")["NOTIFICATIONS_QUEUE_URL"]
    queue_id = queue_url["Ref"]
    (alarm,) = [
        a
        for a in _alarms(stack, "ApproximateAgeOfOldestMessage")
        if a["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    ]
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    # Above a notification's longest retry backoff: a retried e-mail is no backlog.
    assert settings.NOTIFY_RETRY_BACKOFF_MAX < alarm["Threshold"] <= 15 * 60
    (topic_ref,) = alarm["AlarmActions"]
    assert "AlarmsTopic" in topic_ref["Ref"]


def test_pending_orders_stuck_fires_when_the_reconciler_reports_nothing(stack):
    """A reconciler that raises every run (or cannot read the index) puts no point: missing data
    must breach, over periods long enough that one late run is no alarm."""
    (alarm,) = _alarms(stack, OLDEST_PENDING_ORDER_AGE)
    assert alarm["TreatMissingData"] == "breaching"
    assert alarm["Period"] >= 2 * settings.ORDERS_RECONCILE_INTERVAL_SECONDS
    assert alarm["Statistic"] == "Maximum"
