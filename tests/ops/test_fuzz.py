"""schemathesis against the running app's own schema: every operation, no 5xx, every answer as documented.

The schema is generated at collection time by the same code that serves `/api/schema/` (pytest
needs the operations before any server runs; schemathesis' lazy fixture loader does not work with
pytest 9), a test checks that the served schema is identical, and every case goes over HTTP to
the session's real gunicorn.

`make test` runs FUZZ_EXAMPLES (default 50) cases per operation, derandomized so a failure
reproduces (the same cases every run: more of them would find nothing new run after run, and they
were a fifth of the suite's time); `make fuzz` runs many more with fresh randomness.
"""

import json
import os

import pytest
import requests
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
DERANDOMIZE = os.environ.get("FUZZ_RANDOM", "") == ""
MIN_CASES = 1000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Not negative_data_rejection: DRF's CharField takes `{"id": 0}` as "0" and `limit=` means the
# default; both are lenient by design, not schema violations in what we answer.
cases_run: dict[str, int] = {}


def _app_schema() -> dict:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated, renderer_context={}))


APP_SCHEMA = _app_schema()
schema = schemathesis.openapi.from_dict(APP_SCHEMA)


def test_served_schema_is_the_fuzzed_one(web):
    served = requests.get(f"{web.url}/api/schema/", headers={"Accept": "application/json"}, timeout=30)
    assert served.json() == APP_SCHEMA


# One test per operation, named by it (schemathesis' own parametrize gives every item the same
# name, which pytest-xdist cannot tell apart).
OPERATIONS = [result.ok() for result in schema.get_all_operations()]


@pytest.mark.slow
@pytest.mark.parametrize("operation", OPERATIONS, ids=[operation.label for operation in OPERATIONS])
@settings(
    max_examples=EXAMPLES,
    derandomize=DERANDOMIZE,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_every_operation_conforms(operation, data, web):
    case = data.draw(operation.as_strategy())
    cases_run[case.operation.label] = cases_run.get(case.operation.label, 0) + 1
    case.call_and_validate(base_url=web.url, checks=CHECKS, timeout=30)


@pytest.mark.slow
def test_fuzzing_ran_enough_cases():
    total = sum(cases_run.values())
    print(f"schemathesis: {total} cases over {len(cases_run)} operations: {cases_run}")
    assert len(cases_run) >= 9, cases_run
    assert total >= MIN_CASES, cases_run
