"""The GitHub Actions workflow, checked offline: GitHub's schema, zizmor, and what it runs."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
BIN = Path(sys.executable).parent
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)


def _zizmor(path: Path) -> subprocess.CompletedProcess:
    # --offline: no GitHub API calls (the online audits need a token and the network).
    return _run(str(BIN / "zizmor"), "--offline", "--no-progress", str(path))


@pytest.fixture(scope="module")
def workflow() -> dict:
    data = yaml.safe_load(WORKFLOW.read_text())
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def test_workflow_matches_githubs_schema():
    result = _run(str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW))
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_in_the_workflow():
    result = _zizmor(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_offline_does_catch_an_unpinned_action(tmp_path):
    """The check above can fail: the same workflow with a tag instead of a SHA is refused."""
    bad = tmp_path / "ci.yml"
    bad.write_text(re.sub(r"actions/checkout@[0-9a-f]{40}", "actions/checkout@v4", WORKFLOW.read_text()))
    result = _zizmor(bad)
    assert result.returncode != 0
    assert "unpinned-uses" in result.stdout + result.stderr


def test_runs_on_push_and_pull_request_one_run_per_ref(workflow):
    assert {"push", "pull_request"} <= set(workflow["on"])
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert "github.ref" in workflow["concurrency"]["group"]


def test_permissions_are_least_privilege(workflow):
    assert workflow["permissions"] == {}
    for job in workflow["jobs"].values():
        assert job["permissions"] == {"contents": "read"}


def test_every_action_is_pinned_by_commit_sha(workflow):
    uses = [step["uses"] for job in workflow["jobs"].values() for step in job["steps"] if "uses" in step]
    assert uses
    assert [use for use in uses if not PINNED.match(use)] == []


def test_the_job_runs_what_ci_runs_and_synthesizes(workflow):
    ci_script = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci_script
    runs = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert "make lint" in runs and "make test" in runs and "make synth" in runs
    setup_python = next(
        step
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if "setup-python" in step.get("uses", "")
    )
    assert setup_python["with"]["cache"] == "pip"
