"""DynamoDB's transaction conflicts, which the local servers never produce, at the HTTP edge.

Real DynamoDB refuses a write that touches an item another transaction is working on: a
TransactWriteItems is cancelled with the reason `TransactionConflict` for that item, and a
PutItem/UpdateItem/DeleteItem fails with `TransactionConflictException`
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html,
"Transaction conflict handling"). DynamoDB Local 1.25.1 never does: it runs each transaction
under table locks (`MultiTableLock` in DynamoDBLocal.jar), so concurrent transactions simply
queue, and moto serializes everything too.

`ConflictingDynamoDB` is an HTTP proxy in front of the real local DynamoDB that adds that one
rule. A TransactWriteItems is held in flight before it is forwarded (a real transaction takes
milliseconds; holding it makes "at once" certain on a loaded machine), and any write that touches
one of its items meanwhile gets DynamoDB's answer. A held transaction goes on as soon as
`conflicts` collisions have been answered (or after `max_hold_seconds`); from then on nothing is
held, so the retries that follow run at full speed. Everything else is forwarded untouched. The
code under test talks HTTP to it as it would to DynamoDB.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}
_SINGLE_WRITES = ("PutItem", "UpdateItem", "DeleteItem")
_AMZ_JSON = "application/x-amz-json-1.0"
_TYPE = "com.amazonaws.dynamodb.v20120810#"


class ConflictingDynamoDB:
    def __init__(self, upstream: str, *, conflicts: int = 1, max_hold_seconds: float = 20.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.conflicts_wanted = conflicts
        self.max_hold_seconds = max_hold_seconds
        self._lock = threading.Condition()
        self._conflicts = 0
        self._in_flight: dict[tuple, int] = {}  # item -> transactions holding it
        self._key_names: dict[str, list[str]] = {}
        # What happened, for assertions: (operation, outcome) with outcome "forwarded",
        # "TransactionConflict" (a cancelled transaction) or "TransactionConflictException".
        self.events: list[tuple[str, str]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                operation = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                status, answer_headers, content = proxy._handle(operation, body, headers, self.path)
                self.send_response(status)
                for name, value in answer_headers.items():
                    if name.lower() not in _HOP_BY_HOP | {"content-encoding", "date", "server"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "ConflictingDynamoDB":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_in_flight(self, *, timeout: float) -> None:
        """Return once some transaction is being held (until a write collides with it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._in_flight:
                    return
            time.sleep(0.01)
        raise TimeoutError(f"no transaction reached the proxy within {timeout} s")

    def count(self, operation: str, outcome: str) -> int:
        with self._lock:
            return self.events.count((operation, outcome))

    # --- the rule -------------------------------------------------------------------------

    def _forward(self, body: bytes, headers: dict, path: str) -> tuple[int, dict, bytes]:
        answer = requests.post(self.upstream + path, data=body, headers=headers, timeout=30)
        return answer.status_code, dict(answer.headers), answer.content

    def _handle(self, operation: str, body: bytes, headers: dict, path: str) -> tuple[int, dict, bytes]:
        if operation == "TransactWriteItems":
            return self._transaction(body, headers, path)
        if operation in _SINGLE_WRITES:
            request = json.loads(body)
            item = self._item(request["TableName"], request.get("Key") or request.get("Item"))
            with self._lock:
                busy = item in self._in_flight
                if busy:
                    self._conflict_answered((operation, "TransactionConflictException"))
            if busy:
                return self._error(
                    "TransactionConflictException", "Transaction is ongoing for the item", reasons=None
                )
        with self._lock:
            self.events.append((operation, "forwarded"))
        return self._forward(body, headers, path)

    def _transaction(self, body: bytes, headers: dict, path: str) -> tuple[int, dict, bytes]:
        request = json.loads(body)
        items = []
        for entry in request["TransactItems"]:
            ((_, action),) = entry.items()
            items.append(self._item(action["TableName"], action.get("Key") or action.get("Item")))
        with self._lock:
            conflicts = [item in self._in_flight for item in items]
            if any(conflicts):
                self._conflict_answered(("TransactWriteItems", "TransactionConflict"))
            else:
                for item in items:
                    self._in_flight[item] = self._in_flight.get(item, 0) + 1
        if any(conflicts):
            reasons = [
                {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
                if conflict
                else {"Code": "None"}
                for conflict in conflicts
            ]
            codes = ", ".join(reason["Code"] for reason in reasons)
            return self._error(
                "TransactionCanceledException",
                f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
                reasons=reasons,
            )
        try:
            with self._lock:
                self._lock.wait_for(lambda: self._conflicts >= self.conflicts_wanted, self.max_hold_seconds)
            answer = self._forward(body, headers, path)
        finally:
            with self._lock:
                for item in items:
                    self._in_flight[item] -= 1
                    if not self._in_flight[item]:
                        del self._in_flight[item]
                self.events.append(("TransactWriteItems", "forwarded"))
        return answer

    def _conflict_answered(self, event: tuple[str, str]) -> None:
        """Record a collision (under the lock) and let held transactions go once enough happened."""
        self.events.append(event)
        self._conflicts += 1
        self._lock.notify_all()

    def _item(self, table: str, attributes: dict) -> tuple:
        """(table, key values): the key attributes of `attributes`, by the table's key schema."""
        if table not in self._key_names:
            described = requests.post(
                self.upstream + "/",
                data=json.dumps({"TableName": table}),
                headers={
                    "X-Amz-Target": "DynamoDB_20120810.DescribeTable",
                    "Content-Type": _AMZ_JSON,
                    # DynamoDB Local needs a signature-shaped header, not a valid one.
                    "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/"
                    "aws4_request, SignedHeaders=host, Signature=0",
                },
                timeout=30,
            ).json()
            self._key_names[table] = [key["AttributeName"] for key in described["Table"]["KeySchema"]]
        return (table, *(json.dumps(attributes[name], sort_keys=True) for name in self._key_names[table]))

    @staticmethod
    def _error(code: str, message: str, *, reasons: list | None) -> tuple[int, dict, bytes]:
        body = {"__type": _TYPE + code, "message": message}
        if reasons is not None:
            body = {"__type": _TYPE + code, "Message": message, "CancellationReasons": reasons}
        return 400, {"Content-Type": _AMZ_JSON}, json.dumps(body).encode()
