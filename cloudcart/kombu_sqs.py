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

Also: kombu builds each channel's boto3 client from a new boto3 Session
(`Channel._new_boto_client`), and each session parses the SQS model and the endpoint rules into
memory again (~10 MB). A worker's 16 threads publishing at once open up to broker_pool_limit
connections, each with its channel and client: the worker grew to ~280 MB RSS. Here the clients
come from the process's one session (cloudcart.aws.session_client), with kombu's own settings.
"""

import logging

from kombu.asynchronous.aws.connection import AsyncAWSQueryConnection
from kombu.transport.SQS import Channel

logger = logging.getLogger(__name__)

POLL_RETRY_SECONDS = 1.0

_on_list_ready = AsyncAWSQueryConnection._on_list_ready
_on_messages_ready = Channel._on_messages_ready
_loop1 = Channel._loop1


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


def install() -> None:
    """Idempotent: patch kombu's SQS channel (called once per process at app start)."""
    AsyncAWSQueryConnection._on_list_ready = _on_list_ready_tolerant
    Channel._on_messages_ready = _on_messages_ready_tolerant
    Channel._loop1 = _loop1_with_backoff
    Channel._new_boto_client = _new_boto_client_shared
