"""S3 as the staff role sees it on AWS: without s3:ListBucket a missing key answers 403, not 404.

moto answers 404 whatever the caller may do; this proxy in front of it answers a missing key
the way AWS answers the staff role (HEAD: a bare 403; GET: 403 AccessDenied), so the code is
tested against what it will get on AWS.
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from catalog import images
from catalog.errors import UploadNotFound
from catalog.services import product_image_attach
from cloudcart import aws

_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
)
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class NoListBucketS3:
    def __init__(self, upstream: str) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                answer = requests.request(
                    self.command, f"{upstream}{self.path}", data=body, headers=headers, timeout=30
                )
                status, content = answer.status_code, answer.content
                if status == 404 and self.command in ("HEAD", "GET"):
                    status, content = 403, _DENIED
                self.send_response(status)
                for name, value in answer.headers.items():
                    if name.lower() not in _HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(content)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def s3_as_on_aws(moto_server, settings):
    proxy = NoListBucketS3(moto_server.url)
    settings.S3_ENDPOINT_URL = proxy.url  # cloudcart.aws gives a service its own endpoint setting
    aws.client.cache_clear()
    yield proxy
    aws.client.cache_clear()
    proxy.close()


def test_a_key_that_was_never_uploaded_is_not_found_when_s3_answers_403(s3_as_on_aws, make_product):
    product = make_product()
    signed = images.image_upload_sign(product_id=product.id, content_type="image/png", size=100)

    with pytest.raises(UploadNotFound):
        product_image_attach(product_id=product.id, key=signed.key)
