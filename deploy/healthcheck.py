"""The image's HEALTHCHECK: GET /healthz when this container serves HTTP (gunicorn), else pass.

ECS uses the load balancer's health check and ignores this; it serves `docker run` and compose.
"""

import os
import sys
import urllib.request
from pathlib import Path


def gunicorn_running() -> bool:
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"gunicorn" in cmdline.read_bytes():
                return True
        except OSError:  # the process ended while we looked
            continue
    return False


def main() -> int:
    if not gunicorn_running():
        return 0  # worker or beat: Docker restarts a dead main process by itself
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - fixed local URL
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
