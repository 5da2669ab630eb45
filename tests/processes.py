"""Start and stop the real processes tests run against: the local AWS servers, gunicorn, Celery."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from deploy.local.process import die_with_parent

ROOT = Path(__file__).resolve().parent.parent
# The processes' logs; each xdist worker has its own (tests read their processes' logs).
LOG_DIR = ROOT / "tests" / "artifacts" / "logs" / os.environ.get("PYTEST_XDIST_WORKER", "main")


def wait_http(url: str, *, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode} before serving {url}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def spawn(args: list[str], *, env: dict | None = None, log_name: str | None = None) -> subprocess.Popen:
    """Start a child process in its own process group, tied to this session's life."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    output = open(LOG_DIR / f"{log_name}.log", "ab") if log_name else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=output,
        stderr=subprocess.STDOUT,
        # The kernel kills the child if the test session dies first.
        preexec_fn=die_with_parent,  # noqa: PLW1509 - no threads yet when tests spawn
        start_new_session=True,
    )


def stop(process: subprocess.Popen, *, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


class MotoServer:
    """moto's standalone server on a fixed port; stoppable and restartable for outage tests."""

    name = "moto"

    def __init__(self, port: int, *, log_name: str = "moto") -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_name = log_name
        self.process: subprocess.Popen | None = None

    def spawn(self) -> None:
        self.process = spawn(
            # moto with DynamoDB requests serialized: see deploy/local/moto_serialized.py for why.
            [sys.executable, "-m", "deploy.local.moto_serialized", "-H", "127.0.0.1", "-p", str(self.port)],
            log_name=self.log_name,
        )

    def wait(self) -> None:
        wait_http(f"{self.url}/moto-api/", process=self.process)

    def start(self) -> None:
        self.spawn()
        self.wait()

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


class DynamoDBLocal:
    """AWS's DynamoDB Local (deploy/local/dynamodb_local.py) on a fixed port, all data in memory."""

    name = "dynamodb-local"

    def __init__(self, port: int, *, log_name: str = "dynamodb-local") -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_name = log_name
        self.process: subprocess.Popen | None = None

    def spawn(self) -> None:
        self.process = spawn(
            [sys.executable, "-m", "deploy.local.dynamodb_local", "run", "--port", str(self.port)],
            log_name=self.log_name,
        )

    def wait(self) -> None:
        # Any HTTP answer means the JVM serves (it answers a bare GET with 400).
        wait_http(self.url, timeout=60, process=self.process)

    def start(self) -> None:
        self.spawn()
        self.wait()

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


class LocalStripe:
    """localstripe (deploy/local/localstripe.py) on a fixed port, in memory; stoppable for outages."""

    name = "localstripe"

    def __init__(self, port: int, *, log_name: str = "localstripe") -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_name = log_name
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        args = [sys.executable, "-m", "deploy.local.localstripe", "--port", str(self.port)]
        self.process = spawn(args, log_name=self.log_name)
        # Its configuration API answers without a key: any answer means it serves.
        wait_http(f"{self.url}/js.stripe.com/v3/", process=self.process)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


class LocalAws:
    """The local AWS servers: moto for SQS/S3/Cognito/SNS/SES and, unless LOCAL_DYNAMODB=moto,
    DynamoDB Local for DynamoDB. `env` points a process at them; both start side by side."""

    def __init__(self, *, moto_port: int, dynamodb_port: int | None, log_prefix: str = "") -> None:
        self.moto = MotoServer(moto_port, log_name=f"{log_prefix}moto")
        self.dynamodb = (
            DynamoDBLocal(dynamodb_port, log_name=f"{log_prefix}dynamodb-local") if dynamodb_port else None
        )
        self.servers = [self.moto, *([self.dynamodb] if self.dynamodb else [])]
        self.env = {
            "AWS_ENDPOINT_URL": self.moto.url,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb.url if self.dynamodb else self.moto.url,
        }

    @classmethod
    def on_free_ports(cls, *, log_prefix: str) -> "LocalAws":
        """A second local AWS beside the session's (same LOCAL_DYNAMODB choice), e.g. to stop it."""
        from tests.aws_env import DYNAMODB_PORT, free_port

        return cls(
            moto_port=free_port(), dynamodb_port=free_port() if DYNAMODB_PORT else None, log_prefix=log_prefix
        )

    @property
    def pids(self) -> list[int]:
        return [server.process.pid for server in self.servers if server.process is not None]

    def start(self) -> None:
        for server in self.servers:
            server.spawn()
        for server in self.servers:
            server.wait()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


class Gunicorn:
    """The app served by real gunicorn with the production config file, on a free port."""

    def __init__(self, port: int, *, env: dict | None = None, name: str = "gunicorn") -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = LOG_DIR / f"{name}.log"
        self.process = spawn(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "cloudcart.wsgi"],
            env={"HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "2", **(env or {})},
            log_name=name,
        )
        wait_http(f"{self.url}/healthz", process=self.process)

    def stop(self) -> None:
        stop(self.process)


class CeleryProcess:
    """A real `celery -A cloudcart worker|beat` process (never eager mode), ready when this returns."""

    def __init__(
        self,
        kind: str = "worker",
        *,
        concurrency: int | None = None,
        pool: str | None = None,
        queues: str | None = None,
        env: dict | None = None,
        name: str = "worker",
    ) -> None:
        """A worker runs the pool and concurrency of the settings (WORKER_POOL, WORKER_CONCURRENCY)
        unless given, and consumes WORKER_QUEUES (`queues`: "orders", "notifications" or both,
        comma-separated; default both)."""
        self.log_path = LOG_DIR / f"{name}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        args = [sys.executable, "-m", "celery", "-A", "cloudcart", kind, "--loglevel", "INFO"]
        env = dict(env or {})
        if kind == "worker":
            # Through the settings, as on AWS: celery's `--pool prefork` yields to a configured pool.
            if pool:
                env["WORKER_POOL"] = pool
            if concurrency:
                env["WORKER_CONCURRENCY"] = str(concurrency)
            if queues:
                env["WORKER_QUEUES"] = queues
            args += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
            ready = "ready."
        else:
            args += ["--schedule", str(self.log_path.with_suffix(".schedule"))]
            ready = "beat: Starting"
        self.process = spawn(args, env=env, log_name=name)
        self.wait_for(ready, timeout=60)

    def log(self) -> str:
        with open(self.log_path, "rb") as log:
            log.seek(self._log_start)
            return log.read().decode(errors="replace")

    def wait_for(self, text: str, *, timeout: float) -> None:
        self.wait_for_count(text, 1, timeout=timeout)

    def wait_for_count(self, text: str, count: int, *, timeout: float) -> None:
        """Wait until this process has logged `text` at least `count` times."""
        deadline = time.monotonic() + timeout
        while self.log().count(text) < count:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"celery did not log {text!r} within {timeout} s:\n{self.log()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Warm shutdown: SIGTERM to the main process only (it stops its pool), as honcho does."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        stop(self.process, sig=signal.SIGKILL)  # anything left in the group
