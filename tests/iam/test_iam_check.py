"""The pieces of the IAM check (tests/iam/plugin.py runs it on the whole session's calls): the
call log every process writes, the operation -> IAM action table, and the comparison."""

import json
from pathlib import Path

from django.conf import settings

from cloudcart import aws
from tests.iam.actions import iam_actions
from tests.iam.check import check
from tests.iam.kinds import kinds_of


def test_every_process_logs_each_call_once_with_its_origin_and_target():
    queue_url = settings.ORDERS_QUEUE_URL
    with aws.aws_call_origin("probe logging"):
        for _ in range(2):
            aws.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    lines = [json.loads(line) for line in Path(settings.AWS_CALL_LOG).read_text().splitlines()]
    mine = [line for line in lines if line["origin"] == "probe logging" and line.get("QueueUrl") == queue_url]
    assert mine == [
        {
            "origin": "probe logging",
            "service": "sqs",
            "operation": "GetQueueAttributes",
            "QueueUrl": queue_url,
        }
    ]


def _call(service, operation, **target):
    return {"origin": "request GET /x", "service": service, "operation": operation, **target}


def test_operations_map_to_the_iam_actions_aws_checks():
    assert iam_actions(_call("s3", "HeadObject", Bucket="b")) == [("s3:GetObject", None)]
    assert iam_actions(_call("s3", "CopyObject", Bucket="b", Tagging=True)) == [
        ("s3:GetObject", None),
        ("s3:PutObject", None),
        ("s3:PutObjectTagging", None),
    ]
    transaction = _call(
        "dynamodb", "TransactWriteItems", Items=[["ConditionCheck", "c"], ["Put", "o"], ["Update", "c"]]
    )
    assert iam_actions(transaction) == [
        ("dynamodb:ConditionCheckItem", "c"),
        ("dynamodb:PutItem", "o"),
        ("dynamodb:UpdateItem", "c"),
    ]
    assert iam_actions(_call("dynamodb", "BatchGetItem", Tables=["p", "t"])) == [
        ("dynamodb:BatchGetItem", "p"),
        ("dynamodb:BatchGetItem", "t"),
    ]
    assert iam_actions(_call("sesv2", "SendEmail")) == [("ses:SendEmail", None)]
    assert iam_actions(_call("ses", "SendEmail")) == [("ses:SendEmail", None)]
    for operation in (
        "ReceiveMessage",
        "DeleteMessage",
        "ChangeMessageVisibility",
        "GetQueueUrl",
        "ListQueues",
    ):
        assert iam_actions(_call("sqs", operation)) == [(f"sqs:{operation}", None)]
    assert iam_actions(_call("sqs", "DeleteMessageBatch")) == [("sqs:DeleteMessage", None)]
    assert iam_actions(_call("sqs", "SendMessageBatch")) == [("sqs:SendMessage", None)]
    # Cognito's user APIs take the user's tokens, not IAM; its admin APIs are IAM calls.
    assert iam_actions(_call("cognito-idp", "InitiateAuth")) == []
    assert iam_actions(_call("cognito-idp", "AdminGetUser")) == [("cognito-idp:AdminGetUser", None)]


def test_calls_belong_to_the_kind_that_runs_them():
    assert kinds_of(_call("dynamodb", "GetItem")) == ["web"]
    assert kinds_of({**_call("dynamodb", "PutItem"), "origin": "request POST /products"}) == ["staff"]
    assert kinds_of({**_call("dynamodb", "PutItem"), "origin": "request POST /checkout"}) == ["web"]
    assert kinds_of({**_call("dynamodb", "GetItem"), "origin": "request GET /products/*"}) == ["web"]
    refund = {**_call("dynamodb", "UpdateItem"), "origin": "request POST /orders/*/refunds"}
    assert kinds_of(refund) == ["staff"]
    assert kinds_of({**refund, "origin": "request POST /orders/*/cancel"}) == ["web"]
    assert kinds_of({**_call("cognito-idp", "AdminGetUser"), "origin": "request GET /admin/*"}) == ["staff"]
    assert kinds_of({**_call("sqs", "SendMessage"), "origin": "task orders.tasks.process_order"}) == [
        "worker"
    ]
    assert kinds_of({**_call("ses", "SendEmail"), "origin": "task notifications.tasks.notify_order"}) == [
        "notifier"
    ]
    kombu = {"origin": "process celery worker", "service": "sqs", "operation": "ReceiveMessage"}
    assert kinds_of({**kombu, "QueueUrl": settings.NOTIFICATIONS_QUEUE_URL}) == ["notifier"]
    assert kinds_of({**kombu, "QueueUrl": settings.ORDERS_QUEUE_URL}) == ["worker"]
    assert kinds_of({**_call("sqs", "SendMessage"), "origin": "process celery beat"}) == ["beat"]
    assert kinds_of({**_call("dynamodb", "CreateTable"), "origin": "process __main__.py"}) == []


def _template(statements: list[dict]) -> dict:
    """The least of a stack: a web task whose role has `statements`, told about the carts table."""
    return {
        "Resources": {
            "WebTask": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "TaskRoleArn": {"Fn::GetAtt": ["WebRole", "Arn"]},
                    "ContainerDefinitions": [
                        {"Name": "web", "Environment": [{"Name": "CARTS_TABLE", "Value": {"Ref": "Carts"}}]}
                    ],
                },
            },
            "WebPolicy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {"Roles": [{"Ref": "WebRole"}], "PolicyDocument": {"Statement": statements}},
            },
        }
    }


def _grant(*actions: str) -> dict:
    return {"Effect": "Allow", "Action": list(actions), "Resource": [{"Fn::GetAtt": ["Carts", "Arn"]}]}


def test_a_call_the_role_lacks_and_a_grant_nobody_uses_are_both_reported():
    calls = [_call("dynamodb", "GetItem", TableName=settings.CARTS_TABLE)]
    calls.append(_call("dynamodb", "UpdateItem", TableName=settings.CARTS_TABLE))

    problems = check(_template([_grant("dynamodb:GetItem", "dynamodb:DeleteItem")]), calls, used_too=True)

    assert problems == [
        "web: dynamodb:UpdateItem on CARTS_TABLE is not granted (called by request GET /x)",
        "web: dynamodb:DeleteItem on CARTS_TABLE is granted but no call in the suite used it",
    ]
    # A partial run judges only what was called.
    assert (
        check(
            _template([_grant("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")]),
            calls,
            used_too=False,
        )
        == []
    )
    # Granted on another table is not granted.
    other = {"Effect": "Allow", "Action": "dynamodb:*", "Resource": {"Fn::GetAtt": ["Orders", "Arn"]}}
    assert check(_template([_grant("dynamodb:GetItem"), other]), calls[1:], used_too=False) == [
        "web: dynamodb:UpdateItem on CARTS_TABLE is not granted (called by request GET /x)"
    ]
