"""moto's standalone server, with DynamoDB requests handled one at a time (what DynamoDB promises).

moto 5.2.5's DynamoDB backend has no lock: its server answers requests on threads, and a
conditional write (read the item, evaluate the condition, write) can interleave with another,
so two concurrent `ADD products :id IF size(products) < 50` both pass at 49. Its
TransactWriteItems is worse: it deep-copies each table first and, when any condition fails,
puts the copy back, undoing writes other requests made meanwhile
(moto/dynamodb/models/__init__.py, `transact_write_items`). Real DynamoDB makes every single-item
write atomic and transactions serializable, and our code relies on exactly that; serializing
moto's DynamoDB requests gives tests those guarantees.

Its SQS loses messages the same way: `Queue.delete_message` rebuilds the queue's list from a copy,
so a message sent meanwhile is dropped (real SQS keeps a message until it is deleted). SQS's sends
and deletes are serialized too; receives (long polls) stay concurrent. Same arguments as
`python -m moto.server`.

Its SQS spends its CPU on clock reads, not on queues: every received message asks
`is_message_valid_based_on_retention_period`, which computes ALL the queue's attributes three times
(each attribute count a scan of every message, each message's visibility a `datetime` built to read
the clock), so one ReceiveMessage of 10 from a queue of 1,000 messages made ~90,000 `datetime`s.
A backlog's drain cost moto ~166 ms of CPU per order. The retention check reads the queue's
retention period itself, and the SQS models read the clock with `time.time()` (the same epoch
seconds moto derives from `utcnow() - utcfromtimestamp(0)`): same answers, a fraction of the CPU.

Its sends scan the queue for nothing: `send_message` builds the queue's whole attribute dict just to
read `ContentBasedDeduplication`, and that dict holds the three approximate message counts, each a
scan of every message in the queue. So each send (also each SNS publish to a subscribed queue, such
as the ledger's) cost time in proportion to the queue's depth: 40% of moto's CPU in the bench's
checkout-to-final run, and more with every run as an unread queue grew. While a send runs, the
counts read 0 (nothing on the send path uses them); everywhere else they are moto's.

Its dispatcher finds each request's backend the long way, every time: `get_backend_for_host` lists
moto's package directory (a `listdir` and ~190 `isdir` calls) and then tries the URL patterns of
every backend, under the dispatcher's one lock: ~15% of moto's CPU in a drain. The answer for a host
never changes while the server runs, so it is remembered per host.

Its access log (werkzeug's line per request) keeps only answers of 500 and above: every SQS long
poll, and each "does it exist?" 400 of a bootstrap, would otherwise fill `make run`'s terminal.
"""

import logging
import sys
import threading
import time

from moto import server as moto_server
from moto.moto_server import werkzeug_app
from moto.sqs import models as sqs_models

_dynamodb_lock = threading.Lock()
_sqs_writes_lock = threading.Lock()
# The SQS calls (JSON protocol, as boto3 sends them) that add messages to or take them off a queue.
SQS_WRITES = frozenset(
    f"AmazonSQS.{action}"
    for action in ("SendMessage", "SendMessageBatch", "DeleteMessage", "DeleteMessageBatch", "PurgeQueue")
)


class Serialized:
    """WSGI wrapper: one DynamoDB request at a time, and one SQS send or delete at a time; the
    answer is produced inside the lock."""

    def __init__(self, app) -> None:
        self.app = app

    def __getattr__(self, name):
        return getattr(self.app, name)

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        lock = _dynamodb_lock if target.startswith("DynamoDB") else None
        if target in SQS_WRITES:
            lock = _sqs_writes_lock
        if lock is None:
            return self.app(environ, start_response)
        with lock:
            return list(self.app(environ, start_response))


class ServerErrorsOnly(logging.Filter):
    """Drops werkzeug's request lines (`"POST / HTTP/1.1" 400 -`) below 500; keeps everything else."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        is_request_line = len(args) == 3 and str(record.msg).endswith('"%s" %s %s')
        return not (is_request_line and str(args[1]).isdigit() and int(args[1]) < 500)


def _now_seconds(dt=None) -> float:
    return time.time() if dt is None else _moto_unix_time(dt)


def _now_millis(dt=None) -> float:
    return _now_seconds(dt) * 1000.0


def _retained(self, queue_name: str, message) -> bool:
    """moto's retention check, reading the one attribute it needs rather than all of them."""
    retention_seconds = int(self.get_queue(queue_name).message_retention_period)
    return retention_seconds + message.sent_timestamp / 1000 > time.time()


_moto_unix_time = sqs_models.unix_time


def sqs_fast_clock_install() -> None:
    """Makes moto's SQS read the clock and the retention period cheaply (see the module's doc)."""
    sqs_models.unix_time = _now_seconds
    sqs_models.unix_time_millis = _now_millis
    sqs_models.SQSBackend.is_message_valid_based_on_retention_period = _retained


_sending = threading.local()
# The Queue properties that scan every message, and that a send reads only inside `attributes`.
SQS_MESSAGE_COUNTS = (
    "approximate_number_of_messages",
    "approximate_number_of_messages_delayed",
    "approximate_number_of_messages_not_visible",
)


def _counted_unless_sending(count: property) -> property:
    """moto's count, or 0 while this thread is inside a send (which never reads it)."""
    return property(lambda queue: 0 if getattr(_sending, "depth", 0) else count.fget(queue))


def _marked_as_sending(send):
    """moto's `send_message`, with this thread marked as sending while it runs."""

    def send_message(self, *args, **kwargs):
        _sending.depth = getattr(_sending, "depth", 0) + 1
        try:
            return send(self, *args, **kwargs)
        finally:
            _sending.depth -= 1

    return send_message


def sqs_cheap_sends_install() -> None:
    """Makes moto's SQS sends skip the message counts they do not use (see the module's doc)."""
    for name in SQS_MESSAGE_COUNTS:
        setattr(sqs_models.Queue, name, _counted_unless_sending(getattr(sqs_models.Queue, name)))
    sqs_models.SQSBackend.send_message = _marked_as_sending(sqs_models.SQSBackend.send_message)


def _remembered(lookup):
    """`lookup(self, host)`, asked once per host: moto's answer depends on nothing else."""
    answers = {}

    def get_backend_for_host(self, host):
        if host not in answers:
            answers[host] = lookup(self, host)
        return answers[host]

    return get_backend_for_host


def backend_lookup_cache_install() -> None:
    """Makes moto's dispatcher find a host's backend once (see the module's doc)."""
    dispatcher = werkzeug_app.DomainDispatcherApplication
    dispatcher.get_backend_for_host = _remembered(dispatcher.get_backend_for_host)


def main(argv: list[str]) -> None:
    logging.getLogger("werkzeug").addFilter(ServerErrorsOnly())
    sqs_fast_clock_install()
    sqs_cheap_sends_install()
    backend_lookup_cache_install()
    real = moto_server.DomainDispatcherApplication

    def serialized(create_app, *args, **kwargs):
        return Serialized(real(create_app, *args, **kwargs))

    # moto.server.main builds its app from this name; everything else (args, signals) is moto's.
    moto_server.DomainDispatcherApplication = serialized
    moto_server.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
