"""Test helpers for product images: real image bytes, and uploads through a signed POST to moto's S3."""

import io
import struct
import zlib

import requests

from catalog.images import SignedUpload


def png_bytes(*, pad_to: int = 0) -> bytes:
    """A real 1x1 PNG (optionally padded past IEND to a size; viewers ignore trailing bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    body = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )
    return body + b"\x00" * max(0, pad_to - len(body))


def jpeg_bytes() -> bytes:
    """The start of a JPEG (SOI + JFIF APP0): what the magic-number check reads."""
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + app0 + b"\x00" * 64 + b"\xff\xd9"


def post_upload(signed: SignedUpload | dict, body: bytes, *, content_type: str | None = None) -> None:
    """POST `body` to S3 with the signed form, as a browser would; `content_type` overrides the
    form's field (a client that ignores the form: moto does not enforce the policy)."""
    url = signed["url"] if isinstance(signed, dict) else signed.url
    fields = dict(signed["fields"] if isinstance(signed, dict) else signed.fields)
    if content_type is not None:
        fields["Content-Type"] = content_type
    response = requests.post(
        url, data=fields, files={"file": ("image", io.BytesIO(body), fields["Content-Type"])}, timeout=30
    )
    assert response.status_code in (200, 201, 204), response.text
