"""gunicorn settings for every environment: `make run`, the tests, the benchmarks and the container.

All values come from the environment, with defaults sized for a small container (0.5 vCPU).
The CDK stack (deploy/stacks/services.py) sets the production values.
"""

import os

# The address and port gunicorn binds (`make run` passes WEB_PORT as PORT; the container 0.0.0.0).
_host = os.environ.get("HOST", "127.0.0.1")
_port = os.environ.get("PORT", "8000")
bind = f"{_host}:{_port}"
# Processes x threads: the app mostly waits on DynamoDB/SQS, so threads are cheap concurrency.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
# Threads per process: requests one process serves at once.
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Idle keep-alive connections stay open longer than the load balancer's idle timeout (60 s):
# the ALB closes them first, so it never sends a request down a connection we just closed (502).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
# A request running longer than this gets its worker restarted.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# After SIGTERM (ECS stopping a task), in-flight requests get this long to finish; the task's
# stop timeout is longer, so ECS's SIGKILL never cuts them short.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
# Recycling a worker is a safety net against leaks, not free: each restart re-imports Django (4 s
# of a loaded CPU) and starts with a cold catalog cache. At 5000 the bench saw a restart every few
# seconds per worker and lost a third of its throughput; at 100k still one a minute per busy
# worker. At 1M it is rare even at full load.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "1000000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "50000"))
# X-Forwarded-Proto and friends are believed only from these addresses or networks. Locally the
# proxy (if any) is on loopback; on AWS the stack sets the load balancer's subnets, and the task's
# security group admits nothing but the load balancer, so no client can pose as it.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")  # stdout: the container's log driver ships it
errorlog = "-"
# gunicorn's runtime control socket is one fixed path per user: several gunicorns on one host
# (tests, benchmarks, side-by-side stacks) would fight over it, and we do not use it.
control_socket_disable = True
# JSON lines for the error and access logs, the access line with the request id.
logger_class = "cloudcart.logs.GunicornJSONLogger"
# gunicorn's own 400/414/431 answers as JSON too, like every other error.
from cloudcart.gunicorn_errors import install as _json_error_pages  # noqa: E402

_json_error_pages()


def post_worker_init(worker) -> None:
    """Each worker builds its AWS clients before its threads serve (cloudcart.aws.clients_warm)."""
    from cloudcart import aws

    aws.clients_warm()
