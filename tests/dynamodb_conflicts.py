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

import requests

from tests.http_proxy import Answer, ForwardingProxy, Request

_SINGLE_WRITES = ("PutItem", "UpdateItem", "DeleteItem")
_AMZ_JSON = "application/x-amz-json-1.0"
_TYPE = "com.amazonaws.dynamodb.v20120810#"


class ConflictingDynamoDB(ForwardingProxy):
    def __init__(self, upstream: str, *, conflicts: int = 1, max_hold_seconds: float = 20.0) -> None:
        super().__init__(upstream)
        self.conflicts_wanted = conflicts
        self.max_hold_seconds = max_hold_seconds
        self._lock = threading.Condition()
        self._conflicts = 0
        self._in_flight: dict[tuple, int] = {}  # item -> transactions holding it
        self._key_names: dict[str, list[str]] = {}
        # What happened, for assertions: (operation, outcome) with outcome "forwarded",
        # "TransactionConflict" (a cancelled transaction) or "TransactionConflictException".
        self.events: list[tuple[str, str]] = []

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

    def answer(self, request: Request) -> Answer:
        operation = request.operation
        if operation == "TransactWriteItems":
            return self._transaction(request)
        if operation in _SINGLE_WRITES:
            write = json.loads(request.body)
            item = self._item(write["TableName"], write.get("Key") or write.get("Item"))
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
        return self.forward(request)

    def _transaction(self, request: Request) -> Answer:
        items = []
        for entry in json.loads(request.body)["TransactItems"]:
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
            answer = self.forward(request)
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
    def _error(code: str, message: str, *, reasons: list | None) -> Answer:
        body = {"__type": _TYPE + code, "message": message}
        if reasons is not None:
            body = {"__type": _TYPE + code, "Message": message, "CancellationReasons": reasons}
        return Answer(400, {"Content-Type": _AMZ_JSON}, json.dumps(body).encode())
