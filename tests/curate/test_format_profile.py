"""The answer profiler and the format step: dominant formats per task, deviants flagged."""

from __future__ import annotations

import json

import numpy as np

from curate.audit.format_profile import (
    FormatConfig,
    FormatProfile,
    detect_language,
    fits_request,
    profile,
)


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
    # worked arithmetic is not code: assignments alone, with no statement only code has
    assert profile("Total = 3 * 6\nEggs = 18\nSo he has 18 eggs.").format == "prose"
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
    result = FormatProfile(FormatConfig(min_task_size=20, task_size=20)).run(frame)
    found = result.findings
    deviants = found.filter(found["reason"] == "format_deviant")
    assert deviants.height == 4  # the 4 JSON answers among 24 "classify" prose answers
    [task] = {json.loads(e)["task"] for e in deviants["evidence"]}
    assert task.startswith("classify")  # the cluster is named by its instructions
    assert {json.loads(e)["difference"] for e in deviants["evidence"]} == {"hard"}
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
    # lists and prose alike: a text task with no dominant structure, where JSON is drift
    [found] = result.findings.iter_rows(named=True)
    assert found["row"] == 20 and json.loads(found["evidence"])["dominant"] == "text"
    assert result.figures.no_dominant_format == []
    assert result.figures.n_tasks_judged == 1
    assert result.figures.task_clustering == "one task"  # 22 answers: too few to split
    mixed = [(f"Describe item {i}", '{"a": 1}' if i % 2 else "Plain words.") for i in range(20)]
    [task] = (
        FormatProfile(FormatConfig(min_task_size=20))
        .run(sft_frame(mixed))
        .figures.no_dominant_format
    )
    assert task.task == "describe" and task.formats == {"json": 10, "prose": 10}
    small = FormatProfile(FormatConfig(min_task_size=20)).run(sft_frame(pairs[:19]))
    assert small.figures.n_tasks_judged == 0 and small.findings.height == 0


CODE = "```python\ndef f(xs):\n    return sorted(xs)\n```"


def test_tasks_are_clusters_of_instructions_not_their_first_word(sft_frame):
    # the old grouping put every "How ..." question in one task and called the code drift
    pairs = [(f"How do I sort list {i} in Python code?", CODE) for i in range(20)]
    pairs += [
        (f"How does weather pattern {i} form over oceans?", "Warm air rises.") for i in range(30)
    ]
    result = FormatProfile(FormatConfig(min_task_size=15, task_size=25)).run(sft_frame(pairs))
    assert result.findings.height == 0
    assert result.figures.task_clustering == "tf-idf" and result.figures.n_tasks == 2
    # ...and a JSON answer planted among the prose of the weather cluster is still found
    pairs[30] = (pairs[30][0], '{"cause": "warm air rises"}')
    found = FormatProfile(FormatConfig(min_task_size=15, task_size=25)).run(sft_frame(pairs))
    assert found.findings["row"].to_list() == [30]


def test_an_embedder_when_given_decides_the_tasks(sft_frame):
    pairs = [(f"Tell me about topic {i}.", "Plain prose answer.") for i in range(20)]
    pairs += [(f"Tell me about item {i}.", CODE) for i in range(20)]
    calls = []

    def embed(texts):  # a fake embedder: two orthogonal directions, by the word "item"
        calls.append(len(texts))
        return np.array([[0.0, 1.0] if "item" in t else [1.0, 0.0] for t in texts])

    cfg = FormatConfig(min_task_size=15, task_size=20)
    result = FormatProfile(cfg, embed=embed).run(sft_frame(pairs))
    assert calls == [40] and result.figures.task_clustering == "embeddings"
    assert result.findings.height == 0  # two tasks, each unanimous
    assert sorted(t.size for t in result.figures.tasks) == [20, 20]


def test_structure_only_differences_need_a_near_unanimous_task(sft_frame):
    listed = "1. Walk daily\n2. Sleep well\n3. Drink water"
    # an open request answered by paragraphs 75% of the time: a list is a right answer too
    pairs = [
        (f"Give advice on healthy habit {i}.", "Walk daily and sleep well.") for i in range(15)
    ]
    pairs += [(f"Give advice on healthy habit {i}.", listed) for i in range(15, 20)]
    assert FormatProfile(FormatConfig(min_task_size=15)).run(sft_frame(pairs)).findings.height == 0
    # 19 paragraphs and one list: the list is the odd one out
    pairs = [
        (f"Give advice on healthy habit {i}.", "Walk daily and sleep well.") for i in range(19)
    ]
    pairs += [("Give advice on healthy habit 19.", listed)]
    found = FormatProfile(FormatConfig(min_task_size=15)).run(sft_frame(pairs)).findings
    assert found["row"].to_list() == [19]
    assert json.loads(found["evidence"][0])["difference"] == "structure"


def test_an_answer_in_the_format_its_prompt_asks_for_is_no_deviant(sft_frame):
    pairs = [(f"Describe city {i}.", "A calm city by the sea.") for i in range(19)]
    pairs += [("Describe city 19 as a JSON object.", '{"city": "Oslo", "calm": true}')]
    assert FormatProfile(FormatConfig(min_task_size=15)).run(sft_frame(pairs)).findings.height == 0
    assert fits_request("list", "List five reasons to cycle")
    assert fits_request("code", "Write a function that reverses a string")
    assert not fits_request("json", "Describe the city")
