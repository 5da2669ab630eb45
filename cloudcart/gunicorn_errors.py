"""gunicorn's own error answers (request line or headers too long, malformed HTTP) as our JSON.

gunicorn refuses such requests before Django sees them, with a small HTML page written by
`gunicorn.util.write_error`. The API promises JSON `{"code", "detail"}` for every error, so the
config file (deploy/gunicorn.conf.py) swaps that writer for this one in the master, before the
workers fork.
"""

import json

from gunicorn import util


def write_json_error(sock, status_int, reason, mesg):
    code = "internal_error" if status_int >= 500 else "bad_request"
    body = json.dumps(
        {"code": code, "detail": f"{reason}: {mesg}" if mesg else reason}, separators=(",", ":")
    ).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin1") + body)


def install() -> None:
    util.write_error = write_json_error
