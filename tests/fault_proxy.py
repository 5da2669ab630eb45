"""An HTTP proxy in front of the local AWS servers that can answer some calls wrongly on purpose.

A fault at the network edge, not a patch: the code under test talks HTTP to this proxy as it
would to AWS, and the proxy forwards everything to the real local server except the calls a test
asks it to spoil. Modes:
- "unprocessed": every BatchGetItem answers with all its keys unprocessed (DynamoDB does so when
  it throttles).
- "half_unprocessed_once": the first BatchGetItem answers half its keys, leaving the rest
  unprocessed; later ones are forwarded.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class FaultProxy:
    def __init__(self, upstream: str, *, mode: str | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.mode = mode
        self.calls: list[tuple[str, float]] = []  # (X-Amz-Target, time.monotonic())
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = self.headers.get("X-Amz-Target", "")
                with proxy._lock:
                    proxy.calls.append((target, time.monotonic()))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                spoiled = proxy._spoil(target, body, headers)
                if spoiled is not None:
                    self._answer(200, {"Content-Type": "application/x-amz-json-1.0"}, spoiled)
                    return
                answer = requests.post(proxy.upstream + self.path, data=body, headers=headers, timeout=30)
                self._answer(answer.status_code, answer.headers, answer.content)

            def _answer(self, status: int, headers, content: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in _HOP_BY_HOP | {"content-encoding", "date", "server"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FaultProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def targets(self, operation: str) -> list[float]:
        """When each call of `operation` (e.g. "BatchGetItem") arrived."""
        with self._lock:
            return [at for target, at in self.calls if target.endswith(f".{operation}")]

    def _spoil(self, target: str, body: bytes, headers: dict) -> bytes | None:
        if not target.endswith(".BatchGetItem") or self.mode is None:
            return None
        request = json.loads(body)
        if self.mode == "unprocessed":
            return json.dumps(
                {
                    "Responses": {t: [] for t in request["RequestItems"]},
                    "UnprocessedKeys": request["RequestItems"],
                }
            ).encode()
        if self.mode == "half_unprocessed_once":
            self.mode = None
            ((table, asked),) = request["RequestItems"].items()
            keys = asked["Keys"]
            served = {**asked, "Keys": keys[: len(keys) // 2]}
            # The client's own headers (the local servers read the credentials, not the signature).
            answer = requests.post(
                self.upstream + "/",
                data=json.dumps({"RequestItems": {table: served}}),
                headers=headers,
                timeout=30,
            ).json()
            answer["UnprocessedKeys"] = {table: {**asked, "Keys": keys[len(keys) // 2 :]}}
            return json.dumps(answer).encode()
        raise ValueError(self.mode)
