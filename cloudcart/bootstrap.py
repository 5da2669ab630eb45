"""Create the DynamoDB tables, SQS queues, S3 bucket, Cognito user pool, SNS topic (with the
ledger's subscription) and SES sender the app needs, if missing. Safe to rerun.

Used by `manage.py bootstrap_aws` for the local stack and by the test session. In production
the CDK stack owns these resources and this is never run.
"""

import json
import logging
import time
from email.utils import parseaddr

from botocore.exceptions import ClientError
from django.conf import settings
from pynamodb.attributes import TTLAttribute
from pynamodb.exceptions import TableError

from cloudcart import aws

logger = logging.getLogger(__name__)


def table_models() -> list:
    """Every PynamoDB model that owns a table: the one list the bootstrap and the CDK tests share."""
    from cart.models import Cart
    from catalog.models import Product
    from cloudcart.throttling import ThrottleCounter
    from notifications.models import NotificationMarker
    from orders.models import IdempotencyKey, Order

    return [Product, Cart, Order, IdempotencyKey, ThrottleCounter, NotificationMarker]


def ttl_attribute_name(model) -> str | None:
    for name, attribute in model.get_attributes().items():
        if isinstance(attribute, TTLAttribute):
            return attribute.attr_name or name
    return None


def endpoint_wait(*, timeout_seconds: float) -> None:
    """Wait until DynamoDB and SQS answer (the local servers start beside the other processes,
    and DynamoDB Local's JVM takes a few seconds)."""
    deadline = time.monotonic() + timeout_seconds
    for probe in (
        lambda: aws.client("dynamodb").list_tables(Limit=1),
        lambda: aws.client("sqs").list_queues(MaxResults=1),
    ):
        while True:
            try:
                probe()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def tables_create() -> list[str]:
    """Create every missing table with its indexes and TTL; return the names created."""
    created = []
    for model in table_models():
        if model.exists():
            continue
        try:
            model.create_table(wait=True)
        except TableError as exc:
            # Another process (web and worker bootstrap at once) won the race: that is fine.
            if exc.cause_response_code != "ResourceInUseException":
                raise
            continue
        ttl_name = ttl_attribute_name(model)
        if ttl_name:
            try:
                aws.client("dynamodb").update_time_to_live(
                    TableName=model.Meta.table_name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_name},
                )
            except ClientError as exc:
                if "already enabled" not in str(exc).lower():
                    raise
        created.append(model.Meta.table_name)
        logger.info("Created table %s", model.Meta.table_name)
    return created


def queue_ensure(*, name: str, attributes: dict[str, str]) -> str:
    """Create the queue if missing and (re)apply `attributes`; return its URL."""
    sqs = aws.client("sqs")
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in (
            "AWS.SimpleQueueService.NonExistentQueue",
            "QueueDoesNotExist",
        ):
            raise
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        logger.info("Created queue %s", name)
    # Also for an existing queue: a changed visibility timeout or redrive policy takes effect.
    sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    return url


def queues_create() -> str:
    """The orders queue and its dead-letter queue; return the orders queue's URL.

    A message received ORDERS_MAX_RECEIVES times without being deleted moves to the DLQ. The
    visibility timeout stays above the task's hard time limit, so a running task's message is
    never handed to a second worker.
    """
    if settings.ORDERS_VISIBILITY_TIMEOUT <= settings.ORDER_TASK_TIME_LIMIT:
        raise ValueError("ORDERS_VISIBILITY_TIMEOUT must exceed ORDER_TASK_TIME_LIMIT.")
    sqs = aws.client("sqs")
    dlq_url = queue_ensure(name=settings.ORDERS_DLQ_NAME, attributes={"MessageRetentionPeriod": "1209600"})
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(settings.ORDERS_MAX_RECEIVES)}
    return queue_ensure(
        name=settings.ORDERS_QUEUE_NAME,
        attributes={
            "VisibilityTimeout": str(settings.ORDERS_VISIBILITY_TIMEOUT),
            "RedrivePolicy": json.dumps(redrive),
        },
    )


def images_bucket_ensure(*, name: str) -> bool:
    """Create the product images bucket if missing; True if created.

    Locally nothing stands in for CloudFront, so the bucket itself serves `products/*` to anyone
    (image_url points at it). On AWS the stack's bucket is private and CloudFront reads it.
    """
    s3 = aws.client("s3")
    kwargs = {}
    if settings.AWS_REGION != "us-east-1":  # us-east-1 takes no LocationConstraint
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": settings.AWS_REGION}
    created = True
    try:
        s3.create_bucket(Bucket=name, **kwargs)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in (
            "BucketAlreadyOwnedByYou",
            "BucketAlreadyExists",
        ):
            raise
        created = False
    public_read = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "LocalImagesArePublic",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{name}/products/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(public_read))
    if created:
        logger.info("Created bucket %s", name)
    return created


def notifications_resources_create() -> None:
    """The notifications queue and DLQ, the order events topic, and the verified sender.

    The visibility timeout covers the longest retry countdown plus a run: a retried task waits
    in the worker (unacked) until its countdown ends, and must not be handed out again meanwhile.
    """
    visibility, limit = settings.NOTIFICATIONS_VISIBILITY_TIMEOUT, settings.NOTIFY_TASK_TIME_LIMIT
    if visibility <= settings.NOTIFY_RETRY_BACKOFF_MAX + limit:
        raise ValueError(
            "NOTIFICATIONS_VISIBILITY_TIMEOUT must exceed NOTIFY_RETRY_BACKOFF_MAX + NOTIFY_TASK_TIME_LIMIT."
        )
    sqs = aws.client("sqs")
    dlq_url = queue_ensure(
        name=settings.NOTIFICATIONS_DLQ_NAME, attributes={"MessageRetentionPeriod": "1209600"}
    )
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(settings.NOTIFICATIONS_MAX_RECEIVES)}
    queue_ensure(
        name=settings.NOTIFICATIONS_QUEUE_NAME,
        attributes={"VisibilityTimeout": str(visibility), "RedrivePolicy": json.dumps(redrive)},
    )
    # CreateTopic is idempotent; the settings derive the same ARN locally.
    arn = aws.client("sns").create_topic(Name=settings.ORDER_EVENTS_TOPIC_NAME)["TopicArn"]
    if arn != settings.ORDER_EVENTS_TOPIC_ARN:
        raise ValueError(f"ORDER_EVENTS_TOPIC_ARN is {settings.ORDER_EVENTS_TOPIC_ARN}, the topic is {arn}")
    # moto, like SES in its sandbox, sends only from a verified identity (locally: at once).
    aws.client("ses").verify_email_identity(EmailAddress=parseaddr(settings.NOTIFICATIONS_SENDER)[1])


def aws_bootstrap(*, wait_seconds: float = 30) -> None:
    endpoint_wait(timeout_seconds=wait_seconds)
    tables_create()
    queues_create()
    images_bucket_ensure(name=settings.PRODUCT_IMAGES_BUCKET)
    notifications_resources_create()
    from backoffice.bootstrap import ledger_queue_ensure

    ledger_queue_ensure()
    # The user pool last: creating it once among racing processes uses the throttle table.
    from accounts.bootstrap import user_pool_ensure

    user_pool_ensure(wait_seconds=wait_seconds)
