"""An HTTP proxy in front of the local AWS servers that can answer some calls wrongly on purpose.

A fault at the network edge, not a patch: the code under test talks HTTP to this proxy as it
would to AWS, and the proxy forwards everything to the real local server except the calls a test
asks it to spoil. Modes:
- "unprocessed": every BatchGetItem answers with all its keys unprocessed (DynamoDB does so when
  it throttles).
- "half_unprocessed_once": the first BatchGetItem answers half its keys, leaving the rest
  unprocessed; later ones are forwarded.
"""

import dataclasses
import json
import threading
import time

from tests.http_proxy import Answer, ForwardingProxy, Request


class FaultProxy(ForwardingProxy):
    def __init__(self, upstream: str, *, mode: str | None = None) -> None:
        super().__init__(upstream)
        self.mode = mode
        self.calls: list[tuple[str, float]] = []  # (X-Amz-Target, time.monotonic())
        self._lock = threading.Lock()

    def targets(self, operation: str) -> list[float]:
        """When each call of `operation` (e.g. "BatchGetItem") arrived."""
        with self._lock:
            return [at for target, at in self.calls if target.endswith(f".{operation}")]

    def answer(self, request: Request) -> Answer:
        with self._lock:
            self.calls.append((request.target, time.monotonic()))
        spoiled = self._spoil(request)
        if spoiled is not None:
            return Answer(200, {"Content-Type": "application/x-amz-json-1.0"}, spoiled)
        return self.forward(request)

    def _spoil(self, request: Request) -> bytes | None:
        if request.operation != "BatchGetItem" or self.mode is None:
            return None
        asked_items = json.loads(request.body)["RequestItems"]
        if self.mode == "unprocessed":
            return json.dumps(
                {"Responses": {table: [] for table in asked_items}, "UnprocessedKeys": asked_items}
            ).encode()
        if self.mode == "half_unprocessed_once":
            self.mode = None
            ((table, asked),) = asked_items.items()
            keys = asked["Keys"]
            served = {**asked, "Keys": keys[: len(keys) // 2]}
            # With the client's own headers (the local servers read the credentials, not the signature).
            half = dataclasses.replace(request, body=json.dumps({"RequestItems": {table: served}}).encode())
            answer = json.loads(self.forward(half).content)
            answer["UnprocessedKeys"] = {table: {**asked, "Keys": keys[len(keys) // 2 :]}}
            return json.dumps(answer).encode()
        raise ValueError(self.mode)
