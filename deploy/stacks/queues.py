"""The orders queue and its dead-letter queue."""

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct


class OrdersQueues(Construct):
    """Encrypted orders queue; a message received `max_receives` times moves to the DLQ.

    The visibility timeout must stay above the worker's hard time limit, or a message would be
    delivered again while its task may still be running.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        max_receives: int,
        visibility_timeout: Duration,
        task_time_limit: Duration,
    ) -> None:
        super().__init__(scope, construct_id)
        if visibility_timeout.to_seconds() <= task_time_limit.to_seconds():
            raise ValueError("the visibility timeout must exceed the task time limit")
        self.dlq = sqs.Queue(
            self,
            "OrdersDlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),  # the maximum: time to inspect and redrive
        )
        self.queue = sqs.Queue(
            self,
            "OrdersQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=visibility_timeout,
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=max_receives, queue=self.dlq),
        )

    def environment(self) -> dict[str, str]:
        return {
            "ORDERS_QUEUE_NAME": self.queue.queue_name,
            # kombu uses it as a predefined queue: the roles need no sqs:ListQueues/GetQueueUrl.
            "ORDERS_QUEUE_URL": self.queue.queue_url,
            "ORDERS_DLQ_NAME": self.dlq.queue_name,
        }
