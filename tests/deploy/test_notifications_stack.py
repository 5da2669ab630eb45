"""The notifications part of the stack: the events topic, the notifications queue and DLQ, SES,
and a notifier that alone publishes and sends (aws_cdk.assertions on the synthesized template)."""

from aws_cdk.assertions import Match
from django.conf import settings

from tests.deploy.test_stack import _actions_on, _ref, _statements_of


def _events_topic_id(stack) -> str:
    return _ref(stack.environment("notifier")["ORDER_EVENTS_TOPIC_ARN"])


def _notifications_queue_id(stack) -> str:
    return _ref(stack.environment("notifier")["NOTIFICATIONS_QUEUE_URL"])


def _role_id(stack, container: str) -> str:
    task = stack.resources[stack.containers()[container]["TaskDefinition"]]
    return task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]


def test_the_events_topic_is_kms_encrypted_and_only_the_notifier_publishes(stack):
    topic = stack.resources[_events_topic_id(stack)]["Properties"]
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    assert stack.resources[key_id]["Properties"]["EnableKeyRotation"] is True
    (policy,) = [
        p
        for p in stack.of_type("AWS::SNS::TopicPolicy").values()
        if {"Ref": _events_topic_id(stack)} in p["Properties"]["Topics"]
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (deny,) = [s for s in statements if s.get("Sid") == "OnlyTheNotifierPublishes"]
    assert deny["Effect"] == "Deny" and deny["Action"] == "sns:Publish" and deny["Principal"] == {"AWS": "*"}
    assert deny["Condition"] == {
        "ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": [_role_id(stack, "notifier"), "Arn"]}}
    }
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements)
    assert "sns:Publish" in _actions_on(_statements_of(stack, "notifier"), _events_topic_id(stack))
    for other in ("web", "worker", "beat", "seed"):
        assert "sns:Publish" not in _actions_on(_statements_of(stack, other), _events_topic_id(stack)), other


def test_notifications_have_their_own_queue_and_encrypted_dlq(stack):
    queue = stack.resources[_notifications_queue_id(stack)]["Properties"]
    assert queue["VisibilityTimeout"] == settings.NOTIFICATIONS_VISIBILITY_TIMEOUT
    assert queue["RedrivePolicy"]["maxReceiveCount"] == settings.NOTIFICATIONS_MAX_RECEIVES
    dlq_id = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert stack.resources[dlq_id]["Properties"]["SqsManagedSseEnabled"] is True
    assert _notifications_queue_id(stack) != _ref(stack.environment("web")["ORDERS_QUEUE_URL"])
    stack.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}],
            "Threshold": 0,
            "AlarmActions": [{"Ref": Match.string_like_regexp("AlarmsTopic")}],
        },
    )


def test_only_the_notifier_consumes_notifications_web_and_worker_only_enqueue(stack):
    queue_id = _notifications_queue_id(stack)
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage"} <= _actions_on(
        _statements_of(stack, "notifier"), queue_id
    )
    for name in ("web", "worker"):
        actions = _actions_on(_statements_of(stack, name), queue_id)
        assert "sqs:SendMessage" in actions and "sqs:ReceiveMessage" not in actions, name
    assert stack.environment("worker")["WORKER_QUEUES"] == "orders"
    assert stack.environment("notifier")["WORKER_QUEUES"] == "notifications"
    orders_queue = _ref(stack.environment("web")["ORDERS_QUEUE_URL"])
    assert _actions_on(_statements_of(stack, "notifier"), orders_queue) == set()


def test_ses_sends_only_from_the_identity_through_the_configuration_set(stack):
    (identity,) = stack.of_type("AWS::SES::EmailIdentity").values()
    (config_set_id,) = stack.of_type("AWS::SES::ConfigurationSet")
    assert identity["Properties"]["EmailIdentity"] == "example.com"
    assert identity["Properties"]["ConfigurationSetAttributes"]["ConfigurationSetName"] == {
        "Ref": config_set_id
    }
    env = stack.environment("notifier")
    assert env["NOTIFICATIONS_SENDER"] == "orders@example.com"
    assert env["SES_CONFIGURATION_SET"] == {"Ref": config_set_id}
    (send,) = [s for s in _statements_of(stack, "notifier") if "ses:SendEmail" in s["Action"]]
    assert send["Action"] == "ses:SendEmail"  # the only SES call the notifier makes
    resources = [str(r) for r in send["Resource"]]
    assert len(resources) == 2
    assert "identity/example.com" in resources[0]
    assert "configuration-set/" in resources[1] and config_set_id in resources[1]
    assert send["Condition"] == {"StringEquals": {"ses:FromAddress": "orders@example.com"}}
    for other in ("web", "worker", "beat", "seed"):
        assert not any("ses:" in str(s["Action"]) for s in _statements_of(stack, other)), other


def test_the_notifier_reads_orders_and_keeps_the_markers(stack):
    notifier = _statements_of(stack, "notifier")
    orders = _ref(stack.environment("web")["ORDERS_TABLE"])
    markers = _ref(stack.environment("web")["NOTIFICATIONS_TABLE"])
    # The order with its markers in one BatchGetItem of both tables: nothing else on orders.
    assert _actions_on(notifier, orders) == {"dynamodb:BatchGetItem"}
    marker_actions = {"dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:BatchGetItem"}
    assert marker_actions <= _actions_on(notifier, markers)
    # Neither read-write nor read-all: no scans, puts, deletes or batch writes on either table.
    for table in (orders, markers):
        assert not _actions_on(notifier, table) & {
            "dynamodb:Scan",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem",
            "dynamodb:BatchWriteItem",
        }
    products = _ref(stack.environment("web")["PRODUCTS_TABLE"])
    assert _actions_on(notifier, products) == set()
