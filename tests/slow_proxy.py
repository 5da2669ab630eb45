"""A small HTTP proxy for fault tests: forwards every request, and holds back chosen answers.

It sits between the app and the local DynamoDB server. A request whose `X-Amz-Target` names a
chosen operation (e.g. `TransactWriteItems`) is forwarded at once, so the server applies it, but
its answer is delayed past the client's read timeout: the write landed, the client cannot know.
"""

import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.aws_env import free_port


class SlowAnswerProxy:
    def __init__(self, upstream: str, *, slow_operations: set[str], delay: float) -> None:
        self.upstream = urlsplit(upstream)
        self.slow_operations = slow_operations
        self.delay = delay
        self.delayed: list[str] = []  # the operations whose answers were held back
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "SlowAnswerProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                operation = (self.headers.get("X-Amz-Target") or "").rsplit(".", 1)[-1]
                upstream = http.client.HTTPConnection(
                    proxy.upstream.hostname, proxy.upstream.port, timeout=30
                )
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream.request("POST", self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                payload = answer.read()
                upstream.close()
                if operation in proxy.slow_operations:
                    proxy.delayed.append(operation)
                    time.sleep(proxy.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.getheaders():
                        if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up waiting: that is the point

            do_GET = do_POST

        return Handler
