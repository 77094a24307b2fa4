"""The shipped tool-use suite (BFCL v4 sample), its checks, how tools reach the prompt, and one
real run with the built-in model through ``tunesmith eval run``, ``eval compare`` and ``gate``."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from api.cli import main
from curate import ConfigError
from curate.models.cache import generation_key
from curate.models.generation import SamplingParams
from curate.models.tools import TOOLS_PROMPT, render_chat, template_uses_tools
from curate.verify.tool_call import ReferenceCall, example_arguments
from evalsuite import Suite, load_suite
from evalsuite.run import prompts_sha256, score_case
from evalsuite.suite import Case

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "data" / "suites" / "bfcl_tool_calls.jsonl"
POLICY = ROOT / "data" / "policies" / "default.toml"
REASONS = {
    "no_call",
    "wrong_count",
    "wrong_function",
    "positional_argument",
    "missing_argument",
    "unexpected_argument",
    "schema_violation",
    "wrong_value",
}


def _reference_text(case: Case) -> str:
    """The case's reference rendered as the call a model would write."""
    calls = [
        {"name": c["name"], "arguments": example_arguments(ReferenceCall.model_validate(c))}
        for c in case.reference
    ]
    return "<tool_call>" + json.dumps(calls) + "</tool_call>"


@pytest.fixture(scope="module")
def suite() -> Suite:
    return load_suite(SUITE)


def test_shipped_suite_loads_stratified(suite: Suite) -> None:
    assert len(suite.cases) == 50
    assert Counter(c.tags[0] for c in suite.cases) == {"simple": 30, "multiple": 20}
    for case in suite.cases:
        assert case.tools, case.id
        assert [c.type for c in case.checks] == ["tool_call_format", "tool_call"]
        assert [c.kind for c in case.checks] == ["format", "substance"]
        names = {t["function"]["name"] for t in case.tools}
        assert {r["name"] for r in case.reference} <= names
        if "multiple" in case.tags:
            assert len(case.tools) >= 2


def test_every_reference_passes_its_own_checks(suite: Suite) -> None:
    for case in suite.cases:
        result = score_case(case, _reference_text(case), "stop", None)
        assert [(c.name, c.passed) for c in result.checks] == [
            ("tool_call_format", True),
            ("tool_call", True),
        ], (case.id, result.checks)
        assert result.metrics["format_pass"] == 1.0
        assert result.metrics["substance_pass"] == 1.0


def test_format_and_substance_are_scored_apart(suite: Suite) -> None:
    case = next(c for c in suite.cases if "multiple" in c.tags)
    ref = case.reference[0]
    other = next(t["function"]["name"] for t in case.tools if t["function"]["name"] != ref["name"])
    wrong = json.dumps({"name": other, "arguments": {}})
    result = score_case(case, wrong, "stop", None)
    assert result.metrics["format_pass"] == 1.0
    assert result.metrics["substance_pass"] == 0.0
    assert result.checks[1].detail.startswith("wrong_function")
    prose = score_case(case, "I would call a function for that.", "stop", None)
    assert prose.metrics["format_pass"] == 0.0
    assert prose.metrics["substance_pass"] == 0.0


def test_a_bad_reference_fails_when_the_suite_loads(tmp_path: Path) -> None:
    bad = {
        "id": "bad",
        "prompt": "Add 1 and 2.",
        "tools": [{"type": "function", "function": {"name": "add", "parameters": {"type": 3}}}],
        "reference": [{"name": "add", "arguments": {"a": 1, "b": 2}}],
        "checks": [{"type": "tool_call"}],
    }
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(bad) + "\n")
    with pytest.raises(ConfigError, match="JSON Schema"):
        load_suite(path)
    bad["tools"] = None
    bad["reference"] = "add(1, 2)"
    path.write_text(json.dumps(bad) + "\n")
    with pytest.raises(ConfigError, match="reference"):
        load_suite(path)


def test_tools_change_hashes_and_cache_keys(suite: Suite) -> None:
    case = suite.cases[0]
    plain = Suite(name="x", cases=[case.model_copy(update={"tools": None})])
    assert prompts_sha256(plain) != prompts_sha256(Suite(name="x", cases=[case]))
    params = SamplingParams()
    keys = {
        generation_key("transformers", "m", None, case.messages, params, tools)
        for tools in (None, case.tools, suite.cases[1].tools)
    }
    assert len(keys) == 3
    # A chat without tools keeps the key it had before tools existed.
    assert generation_key("transformers", "m", None, case.messages, params) == generation_key(
        "transformers", "m", None, case.messages, params, None
    )


def test_smollm2_template_ignores_tools_so_they_go_into_the_system_prompt(
    smollm2_path: str, suite: Suite
) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(smollm2_path)
    case = suite.cases[0]
    messages = [m.model_dump() for m in case.messages]
    assert not template_uses_tools(tok, messages, case.tools)
    text = render_chat(tok, messages, case.tools)
    system = text.split("<|im_end|>")[0]
    assert "<tools>" in system and case.tools[0]["function"]["name"] in system
    assert TOOLS_PROMPT.split("\n")[0] in system
    assert "named SmolLM" not in text  # the tools' system prompt replaced the default one
    assert case.prompt_text in text
    assert render_chat(tok, messages, case.tools) == text  # deterministic
    # A case's own system prompt is kept, the tools written after it.
    own = [{"role": "system", "content": "Be brief."}, *messages]
    with_own = render_chat(tok, own, case.tools)
    assert with_own.startswith("<|im_start|>system\nBe brief.\n\nYou may call")
    # A template that renders tools itself gets them, and no system-prompt copy.
    tok.chat_template = (
        "{% if tools %}TOOLS {{ tools | tojson }}\n{% endif %}"
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    )
    native = render_chat(tok, messages, case.tools)
    assert native.startswith("TOOLS [")
    assert "<tools>" not in native


def _cli(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as e:
        main(argv)
    return int(e.value.code)


@pytest.mark.slow
def test_eval_run_compare_gate_with_the_built_in_model(
    home: Path, tmp_path: Path, suite: Suite, smollm2_path: str
) -> None:
    import torch

    torch.set_num_threads(1)
    small = tmp_path / "tools3.jsonl"
    small.write_text("".join(line + "\n" for line in SUITE.read_text().splitlines()[:3]))
    base, tuned, cmp = tmp_path / "base", tmp_path / "tuned", tmp_path / "compare"
    argv = f"eval run --suite {small} --model smollm2-135m --out {base} --max-tokens 48"
    code = _cli([*argv.split(), "--no-probe"])
    assert code == 0
    run = json.loads((base / "run.json").read_text())
    assert len(run["cases"]) == 3
    for case in run["cases"]:
        fmt, sub = case["checks"]
        assert (fmt["name"], fmt["kind"], sub["name"], sub["kind"]) == (
            "tool_call_format",
            "format",
            "tool_call",
            "substance",
        )
        assert fmt["passed"] is not None and sub["passed"] is not None
        assert case["output"].strip()
        if sub["passed"]:
            assert fmt["passed"]  # a right call is a parseable one
        else:
            assert sub["detail"].split(":")[0] in REASONS
            assert (sub["detail"].split(":")[0] == "no_call") == (not fmt["passed"])
    assert {"check:tool_call", "check:tool_call_format"} <= set(run["metrics"])
    # The tools reached the prompt: the manifest hashes them with the messages.
    assert run["manifest"]["prompts_sha256"] == prompts_sha256(load_suite(small))

    shutil.copytree(base, tuned)
    assert _cli(["eval", "compare", str(base), str(tuned), "--out", str(cmp)]) == 0
    comparison = json.loads((cmp / "comparison.json").read_text())
    assert "check:tool_call" in json.dumps(comparison)
    code = _cli(["gate", str(cmp), "--policy", str(POLICY), "--quiet"])
    verdict = json.loads((cmp / "gate.json").read_text())["verdict"]
    assert code == {"pass": 0, "fail": 1, "inconclusive": 2}[verdict]
    assert verdict != "fail"  # a model compared with itself regresses nowhere
