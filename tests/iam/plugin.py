"""At the end of the session, check the logged AWS calls against the stack's task roles.

Every process the suite starts (gunicorn, Celery workers and beat, `manage.py` commands) and the
pytest process itself append their calls to one file (AWS_CALL_LOG, set in tests/aws_env.py).
After the last test, `check` compares them with the synthesized template: a call a role lacks
fails the run, whatever was selected; a grant nothing used fails only a whole, green run (a
subset of the tests cannot know what the rest would have called). Off with IAM_CHECK=0.
"""

import json
import os
import tempfile
from pathlib import Path

import pytest


def _whole_run(session) -> bool:
    config = session.config
    option = config.option
    return (
        config.args_source == pytest.Config.ArgsSource.TESTPATHS
        and not option.keyword
        and not option.markexpr
        and not getattr(option, "deselect", None)
        and not getattr(option, "lf", False)
        and session.exitstatus == pytest.ExitCode.OK
    )


def _template() -> dict:
    from tests.deploy import conftest as deploy

    if "https" in deploy.TEMPLATES:
        return deploy.TEMPLATES["https"]
    if deploy.template_file("https").exists():  # synthesized by an xdist worker
        return json.loads(deploy.template_file("https").read_text())
    return deploy.synthesize(Path(tempfile.mkdtemp(prefix="cdk-iam-")), deploy.HTTPS_CONTEXT).template_json


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput") or os.environ.get("IAM_CHECK") == "0":
        return  # an xdist worker: the controller checks the whole session's calls
    if exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return  # interrupted, a usage error, nothing collected: no verdict on a run that did not happen
    from django.conf import settings

    from tests.deploy import conftest as _deploy  # noqa: F401 - quiets jsii before aws_cdk loads
    from tests.iam.check import calls_read, check

    calls = calls_read(Path(settings.AWS_CALL_LOG))
    if not calls:
        return
    whole = _whole_run(session)
    notes: list[str] = []
    problems = check(_template(), calls, used_too=whole, notes=notes)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    what = "granted and used" if whole else "granted (a partial run: grants left unused are not judged)"
    if problems:
        reporter.write_sep(
            "=", f"IAM check FAILED: the task roles do not fit the AWS calls ({what})", red=True
        )
        for line in problems:
            reporter.write_line(f"  {line}")
        reporter.write_line(
            "  Fix the grant in deploy/stacks/ (or the explained allow-list in tests/iam/check.py); "
            f"calls logged in {settings.AWS_CALL_LOG}"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        reporter.write_sep(
            "=", f"IAM check: {len(calls)} logged calls fit the task roles ({what})", green=True
        )
    for line in notes:
        reporter.write_line(f"  IAM check note: {line}")
