"""The ledger's queue and DLQ on the local stack, subscribed to the order events topic.

On AWS the stack owns them (deploy/stacks/ledger.py); `bootstrap_aws` calls this locally.
"""

import json

from django.conf import settings

from cloudcart import aws


def ledger_queue_ensure() -> str:
    """Create the ledger queue (and DLQ) if missing and subscribe it to the order events topic
    with raw delivery; return the queue's URL. Idempotent: SNS answers an existing subscription
    with its ARN."""
    from cloudcart.bootstrap import queue_ensure

    sqs = aws.client("sqs")
    dlq_url = queue_ensure(name=settings.LEDGER_DLQ_NAME, attributes={"MessageRetentionPeriod": "1209600"})
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(settings.LEDGER_MAX_RECEIVES)}
    url = queue_ensure(
        name=settings.LEDGER_QUEUE_NAME,
        attributes={
            "VisibilityTimeout": str(settings.LEDGER_VISIBILITY_TIMEOUT),
            "RedrivePolicy": json.dumps(redrive),
            "MessageRetentionPeriod": "1209600",
        },
    )
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws.client("sns").subscribe(
        TopicArn=settings.ORDER_EVENTS_TOPIC_ARN,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
        ReturnSubscriptionArn=True,
    )
    return url
