"""The CDK app synthesized once per session (jsii starts node: seconds), in its two shapes."""

import fcntl
import functools
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import ROOT

# Before anything imports aws_cdk (the test modules do): Debian's node 20 is past jsii's support
# window; it works, and the banner jsii prints about it is noise.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

CERTIFICATE_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-0123456789ab"
DOMAIN_NAME = "api.example.com"
HOSTED_ZONE_ID = "Z0123456789EXAMPLE"
REGION = "us-east-1"


@dataclass
class Synthesized:
    outdir: Path
    template_json: dict
    nag_failure: str | None  # the validation error, when cdk-nag (or another check) failed
    by_entry_point: bool = False  # made by `python deploy/app.py`, as the cdk CLI runs it

    @functools.cached_property
    def template(self):
        from aws_cdk.assertions import Template

        return Template.from_json(self.template_json)

    @property
    def resources(self) -> dict:
        return self.template_json["Resources"]

    def of_type(self, resource_type: str) -> dict:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def containers(self) -> dict[str, dict]:
        """The app's container definitions by container name, each with its task definition's
        logical id (the tracing collector beside each is not one: tests/deploy/test_tracing_stack.py)."""
        found = {}
        for logical_id, task in self.of_type("AWS::ECS::TaskDefinition").items():
            for container in task["Properties"]["ContainerDefinitions"]:
                if container["Name"] != "otel-collector":
                    found[container["Name"]] = {**container, "TaskDefinition": logical_id}
        return found

    def environment(self, container_name: str) -> dict:
        return {e["Name"]: e["Value"] for e in self.containers()[container_name]["Environment"]}


HTTPS_CONTEXT = {
    "region": REGION,
    "certificateArn": CERTIFICATE_ARN,
    "domainName": DOMAIN_NAME,
    "hostedZoneId": HOSTED_ZONE_ID,
}
# The templates synthesized in this session, by shape: the IAM check (tests/iam/) reuses them.
TEMPLATES: dict[str, dict] = {}


def template_file(shape: str) -> Path:
    """Where a synthesized template is kept for the session's other processes (the IAM check runs in
    pytest-xdist's controller, after the workers that synthesized it): beside the AWS call log."""
    return Path(os.environ["AWS_CALL_LOG"]).with_suffix(f".template-{shape}.json")


def validation_failure(outdir: Path, error: str) -> str:
    """A failed synthesis's error with the CDK's validation report (cdk-nag's findings), if written."""
    report = outdir / "validation-report.json"
    return error + ("\n" + report.read_text() if report.exists() else "")


def synthesize_by_entry_point(outdir: Path, context: dict) -> Synthesized:
    """`cdk synth` / `make synth`: deploy/app.py in its own process, given its context and output
    folder as the cdk CLI gives them, with no AWS account, credentials or settings in its environment."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(outdir),
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps(context),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT / "deploy", env=env, capture_output=True, text=True, timeout=300
    )
    template_path = outdir / "CloudCart.template.json"
    assert template_path.exists(), f"deploy/app.py wrote no template:\n{result.stdout}{result.stderr}"
    failure = None if result.returncode == 0 else validation_failure(outdir, result.stdout + result.stderr)
    return Synthesized(
        outdir=outdir,
        template_json=json.loads(template_path.read_text()),
        nag_failure=failure,
        by_entry_point=True,
    )


def synthesize(outdir: Path, context: dict) -> Synthesized:
    """The app synthesized in this process, with `context` (the CDK context: region, domain...)."""
    from deploy.stacks import app_build

    app = app_build(outdir=str(outdir), context=context)
    failure = None
    try:
        app.synth()
    except RuntimeError as exc:  # jsii's wrapper around the CDK's ValidationFailed
        failure = validation_failure(outdir, str(exc))
    # The template is written before the validation plugins run, so it is there either way.
    template = json.loads((outdir / "CloudCart.template.json").read_text())
    return Synthesized(outdir=outdir, template_json=template, nag_failure=failure)


def _kept(shape: str, synthesized: Synthesized) -> Synthesized:
    """The synthesis of `shape`, kept for this process's tests and for the session's other processes."""
    TEMPLATES[shape] = synthesized.template_json
    template_file(shape).write_text(json.dumps(synthesized.template_json))
    made = {"nag_failure": synthesized.nag_failure, "by_entry_point": synthesized.by_entry_point}
    (synthesized.outdir / "synthesized.json").write_text(json.dumps(made))
    return synthesized


def synthesized_once(session_dir: Path, shape: str, make) -> Synthesized:
    """The session's one synthesis of `shape`: the first pytest-xdist worker to ask makes it (about
    15 s of CPU each) in `session_dir`, the others read what it wrote."""
    outdir = session_dir / f"cdk-{shape}"
    with open(outdir.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        done = outdir / "synthesized.json"
        if not done.exists():
            outdir.mkdir(exist_ok=True)
            return _kept(shape, make(outdir))
    template = json.loads((outdir / "CloudCart.template.json").read_text())
    TEMPLATES[shape] = template
    return Synthesized(outdir=outdir, template_json=template, **json.loads(done.read_text()))


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory, storefront_built) -> dict[str, Synthesized]:
    """{"https": with a certificate, domain and hosted zone (production), "http": without (a first
    try-out)}. The web shop's build is part of the app (it is uploaded on deploy)."""
    # An xdist worker's temporary folder is inside the run's, which its other workers share.
    session_dir = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        session_dir = session_dir.parent
    return {
        "https": synthesized_once(session_dir, "https", lambda outdir: synthesize(outdir, HTTPS_CONTEXT)),
        # The plain shape is the entry point's own output: one synthesis proves both.
        "http": synthesized_once(
            session_dir, "http", lambda outdir: synthesize_by_entry_point(outdir, {"region": REGION})
        ),
    }


@pytest.fixture(scope="session")
def stack(synthesized) -> Synthesized:
    return synthesized["https"]
