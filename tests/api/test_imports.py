"""The API's modules stay light: no torch, transformers, vllm, trl, peft or
sentence-transformers until a worker runs a step that needs them."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "transformers", "vllm", "trl", "peft", "sentence_transformers")


def test_api_app_client_and_cli_import_nothing_heavy() -> None:
    code = (
        "import sys, api, api.app, api.client, api.cli, api.jobs.worker; "
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
