"""The answer profiler and the format step: dominant formats per task, deviants flagged."""

from __future__ import annotations

import json

from curate.audit.format_profile import FormatConfig, FormatProfile, detect_language, profile


def test_json_answers_have_keys_and_fenced_json_counts():
    p = profile('{"name": "Ann", "age": 3}')
    assert p.is_json and p.json_keys == ("age", "name") and p.format == "json"
    assert profile('```json\n[{"b": 1, "a": 2}]\n```').json_keys == ("a", "b")
    assert not profile("{not json}").is_json


def test_markdown_structure_is_detected():
    assert profile("# Title\n\nSome text.").format == "headers"
    assert profile("Steps:\n1. Mix\n2. Bake").format == "list"
    assert profile("- one\n- two\n- three").lists
    assert profile("```python\nprint(1)\n```").format == "code"
    assert profile("def f(x):\n    y = x + 1\n    return y").format == "code"
    assert profile("| a | b |\n|---|---|\n| 1 | 2 |").table
    assert profile("Just a plain sentence. Another one.").format == "prose"
    # a single "1." line is not a list, and a '#' inside code is not a header
    assert profile("1. Only one item").format == "prose"


def test_length_person_formality_language_refusal():
    assert profile("").length_bucket == "empty"
    assert profile("Yes.").length_bucket == "short"
    assert profile(" ".join(["word"] * 150)).length_bucket == "long"
    assert profile("I think my answer is right and I checked it.").person == "first"
    assert profile("You should check your settings before you start.").person == "second"
    assert profile("The cat sat on the mat.").person == "third"
    assert profile("Hey, that's awesome!! You're gonna love it, lol").formality == "informal"
    assert profile("The committee approved the proposal.").formality == "formal"
    assert detect_language("El perro de la casa es muy grande y come para los niños") == "es"
    assert detect_language("The dog of the house is big and it eats for the children") == "en"
    assert detect_language("这是一个测试句子，我们用它来检测语言") == "zh"
    assert detect_language("ok") == "und"
    assert profile("As an AI language model, I cannot browse the internet.").refusal
    assert not profile("Paris is the capital of France.").refusal


def test_step_flags_deviants_from_the_dominant_format(sft_frame):
    pairs = [(f"Classify the sentiment of review {i}.", "Positive") for i in range(20)]
    pairs += [(f"Classify the tone of text {i}.", '{"label": "negative"}') for i in range(4)]
    pairs += [
        (f"Extract the fields from form {i}.", json.dumps({"name": "A", "age": i}))
        for i in range(20)
    ]
    pairs += [("Extract the fields from form x.", json.dumps({"full_name": "B"}))]
    frame = sft_frame(pairs)
    result = FormatProfile(FormatConfig(min_task_size=20)).run(frame)
    found = result.findings
    deviants = found.filter(found["reason"] == "format_deviant")
    assert deviants.height == 4  # the 4 JSON answers among 24 "classify" prose answers
    assert {json.loads(e)["task"] for e in deviants["evidence"]} == {"classify"}
    assert json.loads(deviants["evidence"][0])["dominant"] == "prose"
    keys = found.filter(found["reason"] == "json_keys_deviant")
    assert keys.height == 1 and json.loads(keys["evidence"][0])["dominant_keys"] == ["age", "name"]
    assert set(found["severity"]) == {"review"}
    assert result.figures.formats["json"] == 25
    assert result.figures.no_dominant_format == []


def test_task_without_dominant_format_is_listed_and_small_tasks_not_judged(sft_frame):
    pairs = [(f"List fruits {i}", "- apple\n- pear") for i in range(10)]
    pairs += [(f"List colours {i}", "Red and blue.") for i in range(10)]
    pairs += [("Translate this.", '{"a": 1}'), ("Translate that.", "Done.")]
    result = FormatProfile(FormatConfig(min_task_size=20)).run(sft_frame(pairs))
    assert result.findings.height == 0
    [task] = result.figures.no_dominant_format
    assert task.task == "list" and task.formats == {"list": 10, "prose": 10}
    assert result.figures.n_tasks_judged == 1
