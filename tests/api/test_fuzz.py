"""Property-based fuzzing of the OpenAPI document with schemathesis, ``--checks all``, against a
real server on 127.0.0.1: no generated request gets a 5xx, every response matches the document
(status, content type, headers, body), schema-valid requests are accepted and schema-invalid
ones refused, OPTIONS and unsupported methods answer with a correct ``Allow``, and auth is
enforced.

Two allowances: a schema-valid upload may still be a file the readers cannot read (a PNG, say),
which is 422 — no schema can say "a dataset" (the config below); and the SSE stream of a job's
events is not fuzzed, since the stream of a parked job never ends (``test_http`` follows one). Slow (minutes on two
shared cores); ``FUZZ_EXAMPLES`` sets the cases per operation.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.client import Client

pytestmark = pytest.mark.slow

MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))

CONFIG = """
[[operations]]
include-path = "/v1/datasets"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "404", "409", "422"]
"""
"""What a schema cannot say about an upload: that its bytes are a dataset."""


def test_schemathesis_checks_all_pass(parked, tmp_path: Path) -> None:
    server, (key, _) = parked
    with Client(server.url, key) as c:  # real ids, so the fuzzer also reaches past the 404s
        c.create_dataset("fuzz", [{"instruction": "Hi.", "output": "Hello."}])
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG, encoding="utf-8")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(config),
            "run",
            f"{server.url}/schema/openapi.json",
            "--checks",
            "all",
            "-H",
            f"Authorization: Bearer {key}",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--workers",
            "1",
            # a parked job's event stream never ends (heartbeats keep it open): fuzzed, each
            # case would hang; test_http follows one to its end
            "--exclude-path",
            "/v1/jobs/{job_id}/events/stream",
            "--phases",
            "examples,coverage,fuzzing",
            "--seed",
            "1",
            "--request-timeout",
            "120",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
