"""The image and the web process as the stack runs them: gunicorn's config, health, static files."""

import os
import subprocess
import sys
import uuid

import requests

from tests.aws_env import free_port
from tests.deploy.test_stack import ROOT, _gunicorn_conf
from tests.processes import Gunicorn


def test_gunicorn_takes_workers_threads_and_timeouts_from_env():
    conf = _gunicorn_conf(WEB_CONCURRENCY="3", GUNICORN_THREADS="8", GUNICORN_GRACEFUL_TIMEOUT="25")
    assert (conf["workers"], conf["threads"], conf["graceful_timeout"]) == (3, 8, 25)
    defaults = _gunicorn_conf()
    assert defaults["workers"] >= 1 and defaults["threads"] >= 1
    assert defaults["max_requests"] > 0 and 0 < defaults["max_requests_jitter"] < defaults["max_requests"]
    assert defaults["accesslog"] == "-"  # stdout, for the awslogs driver


def _next_link_scheme(server_url: str, category: str) -> str:
    response = requests.get(
        f"{server_url}/categories/{category}?limit=1", headers={"X-Forwarded-Proto": "https"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()["next"].split("://", 1)[0]


def test_forwarded_proto_is_trusted_only_from_allowed_addresses(web, make_product):
    category = f"fwd-{uuid.uuid4().hex[:8]}"
    make_product(category=category, name="a")
    make_product(category=category, name="b")
    # The session's gunicorn trusts 127.0.0.1 (the default): the proxy's https is believed.
    assert _next_link_scheme(web.url, category) == "https"
    # Trusting only the load balancer's subnets, a direct client cannot claim https.
    untrusting = Gunicorn(
        free_port(), env={"FORWARDED_ALLOW_IPS": "10.0.0.0/24,10.0.1.0/24"}, name="deploy-fwd"
    )
    try:
        assert _next_link_scheme(untrusting.url, category) == "http"
    finally:
        untrusting.stop()


def test_healthz_answers_the_load_balancers_ip_host_header(api):
    """The ALB health check sends the task's private IP as Host; ALLOWED_HOSTS does not list it."""
    assert api.get("/healthz", HTTP_HOST="10.0.2.117").status_code == 200
    refused = api.get("/products", HTTP_HOST="10.0.2.117")
    assert refused.status_code == 400
    assert refused["Content-Type"].startswith("application/json")


def test_image_healthcheck_passes_while_web_answers_and_fails_when_it_does_not(web):
    script = [sys.executable, str(ROOT / "deploy" / "healthcheck.py")]
    env = {**os.environ}
    env["PORT"] = str(web.port)
    assert subprocess.run(script, env=env, timeout=30).returncode == 0
    env["PORT"] = str(free_port())  # nothing listens there
    assert subprocess.run(script, env=env, timeout=30).returncode == 1


def test_collectstatic_works_as_the_image_build_runs_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_ENV", "SECRET_KEY")}
    env["STATIC_ROOT"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "rest_framework" / "css" / "bootstrap.min.css").exists()


def _dockerfile() -> list[str]:
    lines, joined = [], ""
    for raw in (ROOT / "deploy" / "Dockerfile").read_text().splitlines():
        if raw.lstrip().startswith("#"):
            continue
        joined += raw.rstrip("\\").strip() + " "
        if not raw.endswith("\\"):
            if joined.strip():
                lines.append(joined.strip())
            joined = ""
    return lines


def test_dockerfile_builds_one_slim_non_root_image_with_cached_requirements():
    lines = _dockerfile()
    assert lines[0] == "FROM python:3.11-slim"
    copies = [line for line in lines if line.startswith("COPY")]
    assert copies[0] == "COPY requirements.txt ." and copies[1] == "COPY . ."
    install = next(i for i, line in enumerate(lines) if "pip install -r requirements.txt" in line)
    assert install < lines.index("COPY . .")  # code changes do not reinstall the requirements
    assert any("collectstatic --noinput" in line for line in lines)
    assert any(line.startswith("ENV") and "STATIC_ROOT=" in line for line in lines)
    (user,) = [line for line in lines if line.startswith("USER")]
    assert user.split()[1] not in ("root", "0")
    assert any(line.startswith("HEALTHCHECK") and "deploy/healthcheck.py" in line for line in lines)
    assert lines[-1] == 'CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "cloudcart.wsgi"]'
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", "deploy/cdk.out", "tests"} <= set(ignored)


WORKER_START = """
import runpy, django
django.setup()  # as gunicorn's loading of cloudcart.wsgi does, before the worker's hook
runpy.run_path("deploy/gunicorn.conf.py")["post_worker_init"](None)
from pynamodb.models import Model
from cloudcart import aws
from django.urls import get_resolver
get_resolver().url_patterns  # every view a request could reach, and the models it imports
shared, todo, cold, warmed = aws._session()._session, list(Model.__subclasses__()), [], {}
while todo:
    model = todo.pop()
    todo += model.__subclasses__()
    if getattr(getattr(model, "Meta", None), "table_name", None):
        connection = model._get_connection().connection
        if connection._client is None or connection._local.session is not shared:
            cold.append(model.__name__)
        warmed[model.__name__] = connection
def serve():  # a request thread: it must use the warmed client, not build its own
    for name, connection in warmed.items():
        before = connection._client
        if connection.client is not before:
            cold.append(name + " (rebuilt by a request thread)")
import threading
thread = threading.Thread(target=serve)
thread.start()
thread.join()
print(sorted(cold))
"""


KEYS_IN_ENVIRONMENT = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def test_a_gunicorn_worker_builds_every_models_client_from_one_session_before_serving():
    """A model a request imports first (the throttle's counter) would get its client from each
    racing thread's own botocore session: every one must be built, from the shared session, by the
    worker's start-up hook, before the first request. And it must be the client the request
    threads use: PynamoDB rebuilds, from a new session per thread, a client whose signer has no
    credentials (a worker's racing first requests each built one: ~40 MB more per worker)."""
    result = subprocess.run(
        [sys.executable, "-c", WORKER_START],
        cwd=ROOT,
        # As `make run` starts it: the local servers' keys come from the settings' defaults, not
        # from the environment (where the suite puts them) or a credentials file.
        env={
            **{name: value for name, value in os.environ.items() if name not in KEYS_IN_ENVIRONMENT},
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_CONFIG_FILE": os.devnull,
            "DJANGO_SETTINGS_MODULE": "cloudcart.settings",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
