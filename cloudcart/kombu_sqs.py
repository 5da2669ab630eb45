"""Keep a Celery worker alive (and polite) while SQS is unreachable: a workaround for kombu 5.7.0.

kombu's async SQS client turns a failed ReceiveMessage (connection refused, timeout: curl's 599;
or a 5xx) into an empty *list* (`AsyncAWSQueryConnection._on_list_ready`), but the SQS channel's
`_on_messages_ready` expects the parsed *dict* and calls `.get("Messages")` on it. The
AttributeError escapes the event loop and the worker exits ("Unrecoverable error"), so one blip
of the endpoint kills every worker (seen in tests/ops/test_outage.py). See kombu/transport/SQS/
__init__.py (`Channel._on_messages_ready`, `Channel._loop1`) and kombu/asynchronous/aws/
connection.py (`_on_list_ready`) in kombu 5.7.0.

Any other failed ReceiveMessage (a 4xx such as QueueDoesNotExist while a restarted local endpoint
is being bootstrapped again) raises a bare Exception from the same place, with the same result.

Here every failed receive counts as "no messages" (logged once per outage), and the next poll
waits POLL_RETRY_SECONDS rather than retrying at once (with `polling_interval=0` that would be a
hot loop against a dead endpoint). A queue that stays missing shows as repeated warnings and a
failing `/readyz`, not as a dead worker.
Remove this module once kombu handles the failed receive itself.

Also: kombu acks each message with its own DeleteMessage, on the worker's event loop. Here acks
are collected per queue and deleted ten at a time (DeleteMessageBatch), at most ACK_FLUSH_SECONDS
after the first of them, and on the channel's close (a warm shutdown). An ack still waiting when
the process dies is a message SQS hands out again after its visibility timeout: every task is
idempotent, as for any at-least-once delivery, so it finds its work done.

Also: kombu builds each channel's boto3 client from a new boto3 Session
(`Channel._new_boto_client`), and each session parses the SQS model and the endpoint rules into
memory again (~10 MB). A worker's 16 threads publishing at once open up to broker_pool_limit
connections, each with its channel and client: the worker grew to ~280 MB RSS. Here the clients
come from the process's one session (cloudcart.aws.session_client), with kombu's own settings.
"""

import logging
import threading

from kombu.asynchronous.aws.connection import AsyncAWSQueryConnection
from kombu.transport import virtual
from kombu.transport.SQS import Channel

logger = logging.getLogger(__name__)

POLL_RETRY_SECONDS = 1.0
# SQS deletes at most ten messages per DeleteMessageBatch.
ACK_BATCH = 10
ACK_FLUSH_SECONDS = 0.1

_on_list_ready = AsyncAWSQueryConnection._on_list_ready
_on_messages_ready = Channel._on_messages_ready
_loop1 = Channel._loop1
_close = Channel.close


def _on_list_ready_tolerant(self, parent, markers, operation, response):
    if operation == "ReceiveMessage" and response.status != self.STATUS_CODE_OK:
        logger.debug("ReceiveMessage failed: HTTP %s %s", response.status, response.reason)
        return []
    return _on_list_ready(self, parent, markers, operation, response)


def _on_messages_ready_tolerant(self, queue, qname, messages):
    if isinstance(messages, dict):
        if getattr(self, "_receive_failing", False):
            logger.info("SQS receive works again for %s", qname)
        self._receive_failing = False
        return _on_messages_ready(self, queue, qname, messages)
    if not getattr(self, "_receive_failing", False):
        logger.warning("SQS receive failed for %s; retrying every %.0f s", qname, POLL_RETRY_SECONDS)
    self._receive_failing = True
    return 0


def _loop1_with_backoff(self, queue, messages_fetched=None):
    if getattr(self, "_receive_failing", False):
        self.hub.call_later(POLL_RETRY_SECONDS, self._schedule_queue, queue)
        return
    _loop1(self, queue, messages_fetched)


def _new_boto_client_shared(
    self, service, region, access_key_id, secret_access_key, session_token=None, config=None
):
    """kombu 5.7.0's Channel._new_boto_client, but from the process's one boto3 session."""
    from botocore.config import Config

    from cloudcart import aws

    client_config = Config(**(self.transport_options.get("client-config") or {}))
    if config is not None:
        client_config = client_config.merge(config)
    kwargs = {"use_ssl": self.is_secure if self.is_secure is not None else True}
    if self.endpoint_url is not None:
        kwargs["endpoint_url"] = self.endpoint_url
    return aws.session_client(
        service,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        aws_session_token=session_token,
        config=client_config,
        **kwargs,
    )


class _Acks:
    """The acks of one channel not yet sent to SQS: receipt handles by (queue name, queue URL)."""

    def __init__(self, channel) -> None:
        self.channel = channel
        self.lock = threading.Lock()
        self.pending: dict[tuple[str | None, str], list[str]] = {}
        self.timer: threading.Timer | None = None

    def add(self, *, queue: str | None, url: str, receipt_handle: str) -> None:
        with self.lock:
            handles = self.pending.setdefault((queue, url), [])
            handles.append(receipt_handle)
            full = len(handles) >= ACK_BATCH
            if not full and self.timer is None:
                self.timer = threading.Timer(ACK_FLUSH_SECONDS, self.flush)
                self.timer.daemon = True
                self.timer.start()
        if full:
            self.flush()

    def flush(self) -> None:
        with self.lock:
            pending, self.pending = self.pending, {}
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
        for (queue, url), handles in pending.items():
            for start in range(0, len(handles), ACK_BATCH):
                self._delete(queue=queue, url=url, handles=handles[start : start + ACK_BATCH])

    def _delete(self, *, queue: str | None, url: str, handles: list[str]) -> None:
        entries = [{"Id": str(n), "ReceiptHandle": handle} for n, handle in enumerate(handles)]
        try:
            answer = self.channel.sqs(queue=queue).delete_message_batch(QueueUrl=url, Entries=entries)
        except Exception:
            logger.warning(
                "Deleting %d acked messages failed; SQS redelivers them", len(entries), exc_info=True
            )
            return
        if answer.get("Failed"):
            logger.warning(
                "SQS kept %d acked messages; it redelivers them: %s", len(answer["Failed"]), answer["Failed"]
            )


def _acks(channel) -> _Acks:
    acks = channel.__dict__.get("_cloudcart_acks")
    if acks is None:
        acks = channel.__dict__.setdefault("_cloudcart_acks", _Acks(channel))
    return acks


def _basic_ack_batched(self, delivery_tag, multiple=False):
    """kombu 5.7.0's Channel.basic_ack, with the DeleteMessage left to the channel's batch."""
    try:
        info = self.qos.get(delivery_tag).delivery_info
        receipt_handle = info["sqs_message"]["ReceiptHandle"]
    except KeyError:
        return virtual.Channel.basic_ack(self, delivery_tag)
    queue = self.canonical_queue_name(info["routing_key"]) if "routing_key" in info else None
    # The prefetch slot is free at once; the delete follows within ACK_FLUSH_SECONDS.
    virtual.Channel.basic_ack(self, delivery_tag)
    _acks(self).add(queue=queue, url=info["sqs_queue"], receipt_handle=receipt_handle)


def _close_flushing(self):
    _acks(self).flush()
    _close(self)


def install() -> None:
    """Idempotent: patch kombu's SQS channel (called once per process at app start)."""
    AsyncAWSQueryConnection._on_list_ready = _on_list_ready_tolerant
    Channel._on_messages_ready = _on_messages_ready_tolerant
    Channel._loop1 = _loop1_with_backoff
    Channel._new_boto_client = _new_boto_client_shared
    Channel.basic_ack = _basic_ack_batched
    Channel.close = _close_flushing
