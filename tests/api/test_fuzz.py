"""Property-based fuzzing of the OpenAPI schema with schemathesis against a real server: no
generated request gets a 5xx, and every response matches the schema (status, content type,
headers, body).

Not checked: ``positive_data_acceptance`` (a schema cannot say "a file the readers can read" or
"an id that exists", so schema-valid requests are rightly refused with 4xx) and Litestar's
automatic ``OPTIONS`` answers (``allow_header_conformance``, ``unsupported_method``), which are
not part of this API.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.client import Client

pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
]


MAX_EXAMPLES = 6
"""Cases per operation and pass (3 passes x 17 operations): about a minute on two cores."""


def test_no_server_errors_and_responses_match_the_schema(parked) -> None:
    server, (key, _) = parked
    schema = schemathesis.openapi.from_url(f"{server.url}/schema/openapi.json")
    headers = {"Authorization": f"Bearer {key}"}
    with Client(server.url, key) as c:  # real ids, so the fuzzer also reaches past the 404s
        dataset = c.create_dataset("fuzz", [{"instruction": "Hi.", "output": "Hello."}])
        job = c.submit({"type": "curate", "dataset_id": dataset.id})
    real = {"dataset_id": dataset.id, "job_id": job.id}
    passes = [
        ("positive", GenerationMode.POSITIVE, False),
        ("negative", GenerationMode.NEGATIVE, False),
        ("real ids", GenerationMode.POSITIVE, True),
    ]
    failures: dict[str, str] = {}
    tested = 0
    for name, mode, use_real in passes:
        for result in schema.get_all_operations():
            operation = result.ok()
            ids = {k: v for k, v in real.items() if use_real and "{" + k + "}" in operation.path}
            if use_real and not ids:
                continue
            strategy = operation.as_strategy(mode, path_parameters=ids or None)

            @given(case=strategy)
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def fuzz(case) -> None:
                case.call_and_validate(
                    base_url=server.url, headers=headers, checks=CHECKS, timeout=30
                )

            try:
                fuzz()
            except Unsatisfiable:
                continue  # nothing to negate (no parameters or body)
            except (Exception, BaseExceptionGroup) as e:  # report every failing operation
                failures[f"{name}: {operation.label}"] = str(e)[:2000]
            tested += 1
    assert tested >= 40
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
