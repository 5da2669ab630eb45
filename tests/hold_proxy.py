"""An HTTP proxy that holds chosen requests until the test lets go: a process killed mid-call.

It forwards everything to the upstream server (localstripe, DynamoDB Local) except the requests
a test's rule picks, which it holds in one of two ways:
- HOLD: never forwarded. The call is in flight and nothing has happened upstream (the stock
  transaction not applied, the capture not made). When released, the connection is just closed:
  a request whose client died is never replayed.
- ANSWER_LATER: forwarded at once, so the upstream applies it, but its answer is held (the
  capture made at Stripe, the worker never hears of it).
`wait_held(n)` waits until n requests are held: the state to act on (e.g. SIGKILL the caller).
Every forwarded request is recorded with the upstream's status code (`answered`).
"""

import threading
import time
from collections.abc import Callable

from tests.http_proxy import Answer, ForwardingProxy, Request

HOLD = "hold"
ANSWER_LATER = "answer_later"

# rule(method, path, headers, body) -> HOLD | ANSWER_LATER | None (forward and answer at once)
Rule = Callable[[str, str, dict, bytes], str | None]


class HoldingProxy(ForwardingProxy):
    def __init__(self, upstream: str, *, rule: Rule) -> None:
        super().__init__(upstream)
        self.rule: Rule | None = rule
        self.held: list[tuple[str, str]] = []  # (method, path) of each request held
        self.answered: list[tuple[str, str, int]] = []  # (method, path, upstream status) forwarded
        self._released = threading.Event()
        self._changed = threading.Condition()

    def __exit__(self, *exc) -> None:
        self.release()
        super().__exit__(*exc)

    def answer(self, request: Request) -> Answer | None:
        rule = self.rule
        way = rule(request.method, request.path, request.headers, request.body) if rule else None
        if way == HOLD:
            self._hold(request)
            return None  # never forwarded, never answered
        answer = self.forward(request)
        if way == ANSWER_LATER:
            self._hold(request)
        return answer

    def forward(self, request: Request) -> Answer:
        answer = super().forward(request)
        with self._changed:
            self.answered.append((request.method, request.path, answer.status))
        return answer

    def _hold(self, request: Request) -> None:
        with self._changed:
            self.held.append((request.method, request.path))
            self._changed.notify_all()
        self._released.wait()

    def wait_held(self, count: int, *, timeout: float) -> None:
        """Until `count` requests are held (AssertionError after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.held) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.held)} of {count} requests held after {timeout} s: {self.held}"
                self._changed.wait(left)

    def release(self) -> None:
        """Let every held request go (answers to callers long gone are dropped) and forward all
        later requests at once."""
        self.rule = None
        self._released.set()

    def statuses(self, method: str, path: str) -> list[int]:
        """The upstream's status for each forwarded `method path`, in order."""
        with self._changed:
            return [status for m, p, status in self.answered if (m, p) == (method, path)]
