"""gunicorn settings for every environment: `make run`, the benchmarks and the container.

All values come from the environment with defaults sized for a small container.
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Above the load balancer's idle timeout (60 s), so the ALB never reuses a connection we closed.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
# Recycling a worker is a safety net against leaks, not free: each restart re-imports Django and
# starts with a cold catalog cache. At 5000 the bench saw a restart every few seconds per worker
# under load and lost a third of its throughput (issue 8); at 100k it is a few per hour.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "100000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "10000"))
# Trust X-Forwarded-* only from these addresses (the load balancer's subnets in production).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = "-"
# gunicorn's runtime control socket is one fixed path per user: several gunicorns on one host
# (tests, benchmarks, side-by-side stacks) would fight over it, and we do not use it.
control_socket_disable = True
# JSON lines for the error and access logs, the access line with the request id (issue 7).
logger_class = "cloudcart.logs.GunicornJSONLogger"
