"""Product images in S3: signed upload forms, checks of an uploaded object, and public URLs.

Staff browsers upload straight to S3 with a presigned POST, never through our web tier. The POST
policy limits the type and size, but a policy is only as good as the service enforcing it (moto
enforces none of it), so an object is verified again, from S3's own view of it, before a product
may point at it: `image_verify` is the check that counts.
"""

import re
import secrets
from dataclasses import dataclass

import filetype
from botocore.exceptions import ClientError
from django.conf import settings

from catalog.errors import (
    UploadContentMismatch,
    UploadKeyInvalid,
    UploadNotFound,
    UploadTooLarge,
    UploadTypeNotAllowed,
)
from cloudcart import aws

# The image types we accept, with the extension their keys get.
IMAGE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
# filetype reads at most this many leading bytes to recognise a type.
MAGIC_BYTES = 262
# Every image object carries this tag; the bucket's lifecycle rules expire `pending` objects
# (signed, maybe uploaded, never attached) after a day and `replaced` ones after the longest a
# cached page may still show them. `attached` objects are kept.
STATE_TAG = "cloudcart-image"
PENDING, ATTACHED, REPLACED = "pending", "attached", "replaced"
_PENDING_TAGGING = (
    f"<Tagging><TagSet><Tag><Key>{STATE_TAG}</Key><Value>{PENDING}</Value></Tag></TagSet></Tagging>"
)
_KEY_NAME = re.compile(r"[A-Za-z0-9_-]{16,64}\.(jpg|png|webp)")


@dataclass(frozen=True)
class SignedUpload:
    url: str
    fields: dict[str, str]
    key: str
    expires_in: int


def image_key_prefix(*, product_id: str) -> str:
    return f"products/{product_id}/"


def image_url(key: str | None) -> str | None:
    """The public URL of an image key (CloudFront on AWS, the local S3 endpoint locally)."""
    if not key or not settings.PRODUCT_IMAGES_BASE_URL:
        return None
    return f"{settings.PRODUCT_IMAGES_BASE_URL}/{key}"


def image_upload_sign(*, product_id: str, content_type: str, size: int) -> SignedUpload:
    """A presigned POST for one new object under the product's prefix, valid for 10 minutes.

    The policy pins the key, the content type and the `pending` tag, and caps the size at what
    the client announced (itself within PRODUCT_IMAGE_MAX_BYTES). Signing is local: no S3 call.
    """
    key = f"{image_key_prefix(product_id=product_id)}{secrets.token_urlsafe(18)}.{IMAGE_TYPES[content_type]}"
    expires_in = settings.PRODUCT_IMAGE_UPLOAD_EXPIRES_SECONDS
    post = aws.client("s3").generate_presigned_post(
        Bucket=settings.PRODUCT_IMAGES_BUCKET,
        Key=key,
        Fields={"Content-Type": content_type, "tagging": _PENDING_TAGGING},
        Conditions=[
            {"Content-Type": content_type},
            {"tagging": _PENDING_TAGGING},
            ["content-length-range", 1, size],
        ],
        ExpiresIn=expires_in,
    )
    return SignedUpload(url=post["url"], fields=post["fields"], key=key, expires_in=expires_in)


def _client_error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


# What S3 answers for a key that does not exist: 404 to a role that may list the bucket, but 403
# (AccessDenied) to one that may not, like the staff role (s3:ListBucket would let it see every
# key), so that the answer tells nothing about which keys exist. Local moto always says 404.
MISSING_KEY_CODES = ("404", "NoSuchKey", "NotFound", "403", "AccessDenied", "Forbidden")


def image_verify(*, product_id: str, key: str) -> str:
    """Check the uploaded object `key` before a product points at it; raise what is wrong, else
    return the ETag of the object that passed.

    The key must be one of this product's (as signed), the object must exist with an allowed
    content type and a size within the limit, and its first bytes must really be that type
    (a ranged GetObject of the very version HeadObject described, by its ETag).
    """
    prefix = image_key_prefix(product_id=product_id)
    if not key.startswith(prefix) or not _KEY_NAME.fullmatch(key[len(prefix) :]):
        raise UploadKeyInvalid()
    s3 = aws.client("s3")
    bucket = settings.PRODUCT_IMAGES_BUCKET
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if _client_error_code(exc) in MISSING_KEY_CODES:
            raise UploadNotFound() from None
        raise
    content_type = head.get("ContentType", "")
    # The type must be allowed and the one the key was signed for (its extension).
    if IMAGE_TYPES.get(content_type) != key.rsplit(".", 1)[-1]:
        raise UploadTypeNotAllowed(extra={"content_type": content_type})
    if head["ContentLength"] > settings.PRODUCT_IMAGE_MAX_BYTES:
        raise UploadTooLarge(extra={"size": head["ContentLength"], "max": settings.PRODUCT_IMAGE_MAX_BYTES})
    try:
        first = s3.get_object(
            Bucket=bucket, Key=key, Range=f"bytes=0-{MAGIC_BYTES - 1}", IfMatch=head["ETag"]
        )["Body"].read()
    except ClientError as exc:
        # Replaced or deleted between the two calls: the object we checked is not there anymore.
        if _client_error_code(exc) in ("PreconditionFailed", "412", *MISSING_KEY_CODES):
            raise UploadNotFound("The object changed while it was checked; upload it again.") from None
        raise
    if filetype.guess_mime(first) != content_type:
        raise UploadContentMismatch(extra={"content_type": content_type})
    return head["ETag"]


def image_publish(*, product_id: str, key: str, etag: str) -> str:
    """Copy the verified upload (that very version, by its ETag) to a new key no signed form
    names, tagged `attached`; return the new key.

    The upload's form stays valid for minutes: without the copy, the object a product shows could
    be overwritten after it was checked. The upload itself keeps its `pending` tag and expires.
    """
    ext = key.rsplit(".", 1)[-1]
    published = f"{image_key_prefix(product_id=product_id)}{secrets.token_urlsafe(18)}.{ext}"
    try:
        aws.client("s3").copy_object(
            Bucket=settings.PRODUCT_IMAGES_BUCKET,
            Key=published,
            CopySource={"Bucket": settings.PRODUCT_IMAGES_BUCKET, "Key": key},
            CopySourceIfMatch=etag,
            TaggingDirective="REPLACE",
            Tagging=f"{STATE_TAG}={ATTACHED}",
        )
    except ClientError as exc:
        if _client_error_code(exc) in ("PreconditionFailed", "412", *MISSING_KEY_CODES):
            raise UploadNotFound("The object changed while it was checked; upload it again.") from None
        raise
    return published


def image_state_set(*, key: str, state: str) -> None:
    """Tag the object with its state (the lifecycle rules act on it)."""
    aws.client("s3").put_object_tagging(
        Bucket=settings.PRODUCT_IMAGES_BUCKET,
        Key=key,
        Tagging={"TagSet": [{"Key": STATE_TAG, "Value": state}]},
    )
