"""Checks, answer extraction, health flags and suite files (pure logic, no model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curate import final_number, parse_json
from curate.errors import ConfigError
from evalsuite import Case, load_suite, save_suite
from evalsuite.answers import is_refusal
from evalsuite.checks import CheckContext
from evalsuite.health import health
from evalsuite.run import case_metrics, score_case

ROOT = Path(__file__).resolve().parents[2]


def _case(checks: list[dict], reference: object = None) -> Case:
    return Case.model_validate({"id": "x", "prompt": "q", "reference": reference, "checks": checks})


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Janet sells <<16-3-4=9>>9 eggs.\nShe makes $18.\nA: 18", 18),
        ("so 3 + 4 = 7 apples.\n#### 7", 7),
        ("The answer is 1,250 dollars, not 12.", 1250),
        ("We get \\boxed{42}. Check: 40 + 2", 42),
        ("It drops to -4 degrees", -4),
        ("Answer: $60.50", 60.5),
        ("no digits here", None),
    ],
)
def test_final_number(text: str, number: float | None) -> None:
    assert final_number(text) == number


def test_each_check_type_passes_and_fails() -> None:
    ref = {"name": "Alice", "age": 31}
    schema = {
        "type": "object",
        "required": ["name", "age"],
        "properties": {"age": {"type": "integer"}},
    }
    cases = [
        ({"type": "exact"}, "paris", "  Paris ", "Lyon"),
        ({"type": "contains", "value": ["blue", "sky"]}, None, "The sky is Blue", "the sky"),
        ({"type": "not_contains", "value": "password"}, None, "hello", "my PASSWORD is"),
        ({"type": "regex", "pattern": r"^Answer: \d+$", "full": True}, None, "Answer: 4", "4"),
        ({"type": "json_valid"}, None, '```json\n{"a": 1}\n```', "{'a': 1}"),
        (
            {"type": "json_schema", "schema": schema},
            None,
            '{"name": "x", "age": 3}',
            '{"age": "3"}',
        ),
        ({"type": "json_fields"}, ref, '{"name": "alice", "age": 31.0}', '{"name": "Alice"}'),
        ({"type": "numeric"}, "#### 18", "so she makes $18.", "she makes 26"),
        (
            {"type": "rouge_l", "threshold": 0.6},
            "the cat sat on the mat",
            "the cat sat on a mat",
            "dogs bark loudly",
        ),
        ({"type": "length", "min_words": 2, "max_words": 4}, None, "two words", "one"),
        (
            {"type": "refusal", "expect": True},
            None,
            "I'm sorry, but I can't help with that.",
            "Sure, here is how.",
        ),
        ({"type": "refusal"}, None, "Here is the recipe.", "As an AI, I cannot do that."),
    ]
    for spec, reference, good, bad in cases:
        check = _case([spec], reference).checks[0]
        ctx = CheckContext(reference=reference)
        assert check.score(good, ctx).passed is True, (spec, good)
        result = check.score(bad, ctx)
        assert result.passed is False, (spec, bad)


def test_json_fields_scores_field_accuracy() -> None:
    check = _case(
        [{"type": "json_fields", "threshold": 0.5}], {"a": 1, "b": {"c": "x"}, "d": [1, 2]}
    )
    result = check.checks[0].score(
        '{"a": 1, "b": {"c": "y"}, "d": [1, 3]}', CheckContext(reference=check.reference)
    )
    assert result.score == pytest.approx(0.5) and result.passed
    assert "b.c" in result.detail and "d.1" in result.detail


def test_judge_check_without_judge_is_skipped_not_failed() -> None:
    case = _case([{"type": "judge", "rubric": "polite"}, {"type": "contains", "value": "hi"}])
    result = score_case(case, "hi there", "stop", judge=None)
    assert result.checks[0].passed is None and "skipped" in result.checks[0].detail
    assert result.metrics["pass"] == 1.0 and "check:judge" not in result.metrics


def test_case_metrics_split_format_and_substance() -> None:
    case = _case([{"type": "json_valid"}, {"type": "numeric"}], reference=7)
    right_template_wrong_answer = score_case(case, '{"answer": 8}', "stop", None)
    assert right_template_wrong_answer.metrics["format_pass"] == 1.0
    assert right_template_wrong_answer.metrics["substance_pass"] == 0.0
    assert right_template_wrong_answer.metrics["pass"] == 0.0
    metrics = case_metrics([], health("", "length"), "")
    assert metrics["health:empty"] == 1.0 and metrics["health:truncated"] == 1.0
    assert "pass" not in metrics


def test_health_flags() -> None:
    assert health("fine answer", "stop").flags() == dict.fromkeys(
        ["empty", "truncated", "missing_eot", "repetition"], False
    )
    assert health("The answer is 4.\nuser\nWhat else?", "stop").missing_eot
    assert health("ok <|im_start|>assistant", "stop").missing_eot
    looping = "I like to eat apples and pears. " * 10
    flags = health(looping, "length")
    assert flags.repetition and flags.truncated and flags.repetition_ratio > 0.5
    assert not health("one two three four five six seven eight nine ten " * 2, "stop").repetition
    # A broken model's loop with no spaces is one "word": judged on characters instead.
    assert health('":"' * 30, "length").repetition
    assert not health('{"answer": 18}', "stop").repetition
    assert not health(
        "Antidisestablishmentarianism-pneumonoultramicroscopicsilicovolcano" * 1
        + "-floccinaucinihilipilification",
        "stop",
    ).repetition


def test_refusal_and_json_parsing() -> None:
    assert is_refusal("I cannot help with that request.")
    assert not is_refusal("I can help with that: first, preheat the oven.")
    assert parse_json("not json")[1] is not None
    assert parse_json("```\n[1, 2]\n```") == ([1, 2], None)
    assert parse_json("```\n[1, 2]\n```", allow_fence=False)[1] is not None


def test_shipped_suites_load_and_round_trip(tmp_path: Path) -> None:
    for name in ("json_format.yaml", "arithmetic_numeric.jsonl"):
        suite = load_suite(ROOT / "data" / "suites" / name)
        assert any(c.canary for c in suite.cases)
        kinds = {c.kind for case in suite.cases for c in case.checks}
        assert kinds == {"format", "substance"}
        again = load_suite(save_suite(suite, tmp_path / f"{suite.name}.jsonl"))
        assert again.sha256() == suite.sha256()


def test_suite_errors_say_where(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"id": "a", "prompt": "q", "checks": [{"type": "numeric"}]})
        + "\n"
        + json.dumps({"id": "b", "prompt": "q", "checks": [{"type": "nope"}]})
        + "\n"
    )
    with pytest.raises(ConfigError, match=r"bad.jsonl:1: .*needs a reference"):
        load_suite(bad)
    dupes = tmp_path / "dupes.jsonl"
    line = json.dumps({"id": "a", "prompt": "q", "checks": [{"type": "json_valid"}]})
    dupes.write_text(line + "\n" + line + "\n")
    with pytest.raises(ConfigError, match="case ids repeat"):
        load_suite(dupes)
    yaml_bad = tmp_path / "s.yaml"
    yaml_bad.write_text("cases:\n  - id: a\n    prompt: q\n    checks: [{type: regex}]\n")
    with pytest.raises(ConfigError, match=r"case #0 \(a\).*pattern"):
        load_suite(yaml_bad)
