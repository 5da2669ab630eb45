"""S3 as the staff role sees it on AWS: without s3:ListBucket a missing key answers 403, not 404.

moto answers 404 whatever the caller may do; this proxy in front of it answers a missing key
the way AWS answers the staff role (HEAD: a bare 403; GET: 403 AccessDenied), so the code is
tested against what it will get on AWS.
"""

import dataclasses

import pytest

from catalog import images
from catalog.errors import UploadNotFound
from catalog.services import product_image_attach
from cloudcart import aws
from tests.http_proxy import Answer, ForwardingProxy, Request

_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
)


class NoListBucketS3(ForwardingProxy):
    def answer(self, request: Request) -> Answer:
        answer = self.forward(request)
        if answer.status == 404 and request.method in ("HEAD", "GET"):
            return dataclasses.replace(answer, status=403, content=_DENIED)
        return answer


@pytest.fixture
def s3_as_on_aws(moto_server, settings):
    with NoListBucketS3(moto_server.url) as proxy:
        settings.S3_ENDPOINT_URL = proxy.url  # cloudcart.aws gives a service its own endpoint setting
        aws.client.cache_clear()
        yield proxy
        aws.client.cache_clear()


def test_a_key_that_was_never_uploaded_is_not_found_when_s3_answers_403(s3_as_on_aws, make_product):
    product = make_product()
    signed = images.image_upload_sign(product_id=product.id, content_type="image/png", size=100)

    with pytest.raises(UploadNotFound):
        product_image_attach(product_id=product.id, key=signed.key)
