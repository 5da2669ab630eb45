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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

HOLD = "hold"
ANSWER_LATER = "answer_later"
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}

# rule(method, path, headers, body) -> HOLD | ANSWER_LATER | None (forward and answer at once)
Rule = Callable[[str, str, dict, bytes], str | None]


class HoldingProxy:
    def __init__(self, upstream: str, *, rule: Rule) -> None:
        self.upstream = upstream.rstrip("/")
        self.rule: Rule | None = rule
        self.held: list[tuple[str, str]] = []  # (method, path) of each request held
        self.answered: list[tuple[str, str, int]] = []  # (method, path, upstream status) forwarded
        self._released = threading.Event()
        self._changed = threading.Condition()
        self._session = threading.local()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _serve(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                rule = proxy.rule
                way = rule(self.command, self.path, headers, body) if rule else None
                if way == HOLD:
                    proxy._hold(self.command, self.path)
                    self.close_connection = True  # never forwarded, never answered
                    return
                answer = proxy._forward(self.command, self.path, headers, body)
                if way == ANSWER_LATER:
                    proxy._hold(self.command, self.path)
                try:
                    self.send_response(answer.status_code)
                    for name, value in answer.headers.items():
                        if name.lower() not in _HOP_BY_HOP | {"date", "server"}:
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.content)))
                    self.end_headers()
                    self.wfile.write(answer.content)
                except OSError:
                    pass  # the caller is gone: that is the point

            do_GET = do_POST = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "HoldingProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()

    def _forward(self, method: str, path: str, headers: dict, body: bytes) -> requests.Response:
        session = getattr(self._session, "value", None) or requests.Session()
        self._session.value = session
        answer = session.request(method, self.upstream + path, data=body, headers=headers, timeout=30)
        with self._changed:
            self.answered.append((method, path, answer.status_code))
        return answer

    def _hold(self, method: str, path: str) -> None:
        with self._changed:
            self.held.append((method, path))
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
