"""The forwarding HTTP proxy the fault-injecting test proxies build on: `answer` is each one's hook."""

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

import requests

# Headers that describe one connection or one encoding of the body, not the request or answer:
# the proxy makes its own connections, and requests hands back the body decoded.
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # the client's, less the hop-by-hop ones
    body: bytes
    target: str  # X-Amz-Target ("DynamoDB_20120810.PutItem"), "" when there is none

    @property
    def operation(self) -> str:
        return self.target.rpartition(".")[2]


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    content: bytes


class ForwardingProxy:
    """Serves on a free local port and answers each request with `answer`: by default the upstream's."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        # Its handler threads are daemons (ThreadingHTTPServer's default): closing it does not
        # wait for a request a test still holds.
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.proxy = self  # how _Handler, made per connection by the server, finds its proxy
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, request: Request) -> Answer | None:
        """The answer to send back; None closes the connection unanswered."""
        return self.forward(request)

    def forward(self, request: Request) -> Answer:
        answer = requests.request(
            request.method,
            self.upstream + request.path,
            data=request.body,
            headers=request.headers,
            allow_redirects=False,  # a redirect is the client's to follow
            timeout=30,
        )
        return Answer(answer.status_code, answer.headers, answer.content)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def _serve(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        target = self.headers.get("X-Amz-Target") or ""
        answer = self.server.proxy.answer(Request(self.command, self.path, headers, body, target))
        if answer is None:
            self.close_connection = True
            return
        try:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                # send_response wrote its own Date and Server.
                if name.lower() not in _HOP_BY_HOP | {"date", "server"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer.content)
        except OSError:
            pass  # the client stopped waiting, which is what some tests make happen

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _serve  # noqa: N815 - http.server's naming
