"""The bench's baseline views exist only under the bench-only settings, never in the app."""

import os
import subprocess
import sys

from tests.processes import ROOT


def test_baselines_are_not_routed_by_the_app(api):
    for path in ("/_bench/constant", "/_bench/getitem", "/_bench/callgrind/start"):
        response = api.get(path)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_bench_settings_refuse_to_load_in_production():
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "example.com",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import tests.bench.settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "for local benchmarks only" in result.stderr
