"""Create the DynamoDB tables (and later queues) the app needs, if missing. Safe to rerun.

Used by `manage.py bootstrap_aws` for the local stack and by the test session. In production
the CDK stack owns these resources and this is never run.
"""

import logging
import time

from botocore.exceptions import ClientError
from pynamodb.attributes import TTLAttribute
from pynamodb.exceptions import TableError

from cloudcart import aws

logger = logging.getLogger(__name__)


def table_models() -> list:
    """Every PynamoDB model that owns a table: the one list the bootstrap and the CDK tests share."""
    from cart.models import CartLine
    from catalog.models import Product
    from cloudcart.throttling import ThrottleCounter
    from orders.models import IdempotencyKey, Order

    return [Product, CartLine, Order, IdempotencyKey, ThrottleCounter]


def ttl_attribute_name(model) -> str | None:
    for name, attribute in model.get_attributes().items():
        if isinstance(attribute, TTLAttribute):
            return attribute.attr_name or name
    return None


def endpoint_wait(*, timeout_seconds: float) -> None:
    """Wait until DynamoDB answers (moto may still be starting when the other processes start)."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            aws.client("dynamodb").list_tables(Limit=1)
            return
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


def aws_bootstrap(*, wait_seconds: float = 30) -> None:
    endpoint_wait(timeout_seconds=wait_seconds)
    tables_create()
