"""Quality heuristics: each rule on true and false cases, the step on SFT and preference records,
and the real Alpaca sample, which is known to contain every defect."""

from __future__ import annotations

import json

import polars as pl
import pytest

from curate.checks import quality_content as rules
from curate.checks import quality_damage as damage
from curate.checks.quality import QUALITY_REASONS, QualityCheck, QualityConfig
from curate.pipeline.config import CurateConfig
from curate.pipeline.step import run_steps
from curate.records import Message, Record, Source, record_id, to_frame


def _record(
    prompt: str, answer: str | None = None, chosen: str = "", rejected: str = "", row: int = 0
) -> Record:
    user = [Message(role="user", content=prompt)]
    if answer is not None:
        return Record(
            id=record_id(f"{prompt}|{answer}|{row}"),
            kind="sft",
            prompt=user,
            completion=[Message(role="assistant", content=answer)],
            source=Source(file="t", row=row),
        )
    return Record(
        id=record_id(f"{prompt}|{chosen}|{rejected}|{row}"),
        kind="preference",
        prompt=user,
        chosen=[Message(role="assistant", content=chosen)],
        rejected=[Message(role="assistant", content=rejected)],
        source=Source(file="t", row=row),
    )


# -- rules: true and false cases ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "<nooutput>",
        "<No Output>",
        "N/A",
        "n/a.",
        "No output.",
        "No output because this needs a picture.",
        "Here: <no output>",
    ],
)
def test_placeholder_answer_true(text: str) -> None:
    assert rules.placeholder_answer(text)


@pytest.mark.parametrize(
    "text",
    [
        "None",
        "No.",
        "Not applicable here because x is even.",
        "NA12878",
        "There is no output device attached, so print to a file.",
    ],
)
def test_placeholder_answer_false(text: str) -> None:
    assert rules.placeholder_answer(text) is None


@pytest.mark.parametrize(
    "prompt",
    [
        "Write a poem.\n\n<noinput>",
        "Write a poem.\n\nNo input",
        "Write a poem.\n\nNo input required.",
        "Write a poem.\n\nN/A",
        "Name him.\n\nJoe Smith <noinput>",
        "Sum.\n\n<noinputs>",
    ],
)
def test_placeholder_input_true(prompt: str) -> None:
    assert rules.placeholder_input(prompt)


@pytest.mark.parametrize(
    "prompt",
    [
        "Write a poem.",
        "Classify.\n\nNone of the above is true.",
        "Explain input validation.",
        "Reverse.\n\nNo inputs were harmed",
    ],
)
def test_placeholder_input_false(prompt: str) -> None:
    assert rules.placeholder_input(prompt) is None


@pytest.mark.parametrize(
    ("prompt", "kind"),
    [
        ("Summarize the article.\n\nhttps://www.nytimes.com/2019/07/14/x.html", "url"),
        ("Describe it.\n\n![tree](https://upload.wikimedia.org/a.jpg)", "url"),
        ("Describe this website\n\n[Image of a website]", "attachment"),
        ("Comment on the painting.\n\nPainting: (attached image)", "attachment"),
        ("Given a photo of some mountains, generate a haiku.", "missing_content"),
        ("Textify the following chart:", "missing_content"),
        ("Create the HTML code necessary to display the following text.", "missing_input"),
    ],
)
def test_needs_unseen_content_true(prompt: str, kind: str) -> None:
    evidence = rules.needs_unseen_content(prompt)
    assert evidence is not None and evidence["kind"] == kind


@pytest.mark.parametrize(
    "prompt",
    [
        "Create a chart comparing the costs.",  # makes a chart, needs none
        "How has the video game industry changed?",  # "video game", not a video
        "Identify the domain name.\n\nhttp://www.example.com/",  # example domains are just text
        "Rewrite the following sentence: The cat sat.",  # the content is inline
        "Find the shortest path in the given graph.\n\nA--B--C",  # the input holds it
    ],
)
def test_needs_unseen_content_false(prompt: str) -> None:
    assert rules.needs_unseen_content(prompt) is None


def test_merged_instructions_true_and_false() -> None:
    merged = "Kilimanjaro.\n6. Instruction: Draft a thank-you note.\n6. Input:\n<noinput>\n6. Output:\nDear"
    evidence = rules.merged_instructions(merged)
    assert evidence == {"span": "6. Instruction: Draft a thank-you note.", "count": 3}
    assert rules.merged_instructions("### Instruction\nDo more.")
    # Input/Output examples that a task asks for, and plain numbered lists, are not merged.
    assert rules.merged_instructions("Input: \nplay a song\n\nOutput: \nOK, playing.") is None
    assert rules.merged_instructions("1. Preheat the oven.\n2. Mix the flour.") is None


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ("Here is the code:\n```python\nprint(1)\n", "open_code_block"),
        ("The result (computed by the model is 4.", "unclosed_bracket"),
        ("He said “we will go tomorrow and then", "unclosed_quote"),
        ("The numerical value of the equation is", "ends_with_connector"),
        ("The ingredients you need are flour, sugar, butter and", "ends_with_connector"),
        ("Sentences like this one end here and the next list is:", "ends_with_continuation"),
        (
            "Both countries worked together in organisations such as the United Nations, NATO, the "
            "OECD and many other international bodies over the last decade in the G",
            "ends_mid_sentence",
        ),
        # a list item written in sentences, cut off mid-sentence, is still truncated
        (
            "Tips:\n\n1. Eat well.\n\n2. Sleep eight hours.\n\n3. Exercise regularly: Aim for "
            "at least 150 minutes of moderate activity a week. Walking, cycling and swimming all "
            "count, and even short sessions of any kind add up to real gains over many months",
            "ends_mid_sentence",
        ),
        # a fence left open after a closed one
        ("Run:\n```bash\nls\n```\nthen:\n```python\nprint(1)", "open_code_block"),
    ],
)
def test_truncated_true(answer: str, kind: str) -> None:
    evidence = damage.truncated(answer)
    assert evidence is not None and evidence["kind"] == kind


@pytest.mark.parametrize(
    "answer",
    [
        "Positive",  # one-word label
        "1. Flour\n2. Sugar\n3. Butter",  # list without full stops
        "def f(x):\n    return x[2:]",  # code with slices
        "a) apples b) pears",  # closers without openers are numbering
        "Golden sun shines bright\nSeagulls soaring in the sky\nPeaceful waves rolling in",  # poem
        "We hit 10k followers, thank you all for being here with us every day of this long ride #ThankYou #10k",
        "```python\nprint(1)\n```",
        "Sincerely,\nCompany A",
        "for num in range(1, 10):",
        "He smiled :( and left.",
        # list answers simply end without a full stop (the last item is a fragment)
        "Goals for the year:\n\n1. Develop healthy habits by keeping a consistent exercise "
        "regimen.\n\n10. Travel and explore new places and cultures with the people you love "
        "most in the world and try every kind of local food on the way there and back home",
        "Here are the materials:\n\n1. Seeds\n2. Soil\n3. Labeling materials to keep track of "
        "different variables or conditions such as different types of fertilizer or amounts of "
        "sunlight for each and every pot in the experiment you run over the month",
        # inline code on a fence line, and brackets or quotes inside closed code, are finished
        "You can print a string in many ways; the simplest is:\n```cout << string```",
        "Here it is:\n```python\ncode += \"{{\\n\"\nprint('(')\n```\nThis works.",
        "Use `f(` as the prefix, then call it.",
    ],
)
def test_truncated_false(answer: str) -> None:
    assert damage.truncated(answer) is None


def test_refusal_and_boilerplate() -> None:
    assert rules.refusal("I'm sorry, but I cannot provide that information.")
    assert rules.refusal("Sorry, the task requires a visual output which cannot be generated.")
    assert rules.refusal("No output: GPT models are unable to generate images.")
    # A role in a dialogue or a ticket, or a quotation, is not the model declining.
    assert rules.refusal("I'm sorry to hear that. Let me direct you to our Returns page.") is None
    assert rules.refusal("Subject: login. Details: I am unable to access my account.") is None
    assert rules.refusal('"If I can\'t make a difference, at least I can laugh."') is None
    assert rules.assistant_boilerplate("As an AI language model, I have no opinions.")
    assert rules.assistant_boilerplate("I'm just an AI, but here is a plan.")
    assert rules.assistant_boilerplate("The blockchain serves as a digital ledger.") is None
    assert rules.assistant_boilerplate("He has an air of power.") is None


def test_repetition() -> None:
    assert damage.repetition("the the the the the the the cat")["kind"] == "repeated_word"
    lines = "\n".join(["|  row  |  empty  |"] * 6)
    assert damage.repetition(lines)["kind"] == "repeated_lines"
    loop = " ".join(["Start with a five minute warm up then do four sets of squats."] * 6)
    evidence = damage.repetition(loop)
    assert evidence["kind"] == "repeated_ngrams" and evidence["score"] >= 0.6
    assert evidence["span"] == "start with a five minute warm up then" and evidence["count"] == 6
    assert damage.repetition("Verse:\nOur sitcom, our sitcom, good times\nFriends around") is None
    prose = " ".join(f"word{i}" for i in range(200))
    assert damage.repetition(prose) is None


def test_broken_encoding() -> None:
    assert damage.broken_encoding("caf\u00c3\u00a9")["fixed"] == "é"
    assert damage.broken_encoding("it\u00e2\u20ac\u2122s")["fixed"] == "’"
    assert damage.broken_encoding("bad \ufffd")["kind"] == "replacement_character"
    assert damage.broken_encoding("tab\x0bhere")["codepoint"] == "U+000B"
    for fine in ("café naïve “quoted” — ¡Hola! ¿Qué?", "Straße été École 3×4 ½", "line\ttab\r\n"):
        assert damage.broken_encoding(fine) is None


# -- the step ----------------------------------------------------------------------------------


def test_step_reports_every_side_with_evidence() -> None:
    frame = to_frame(
        [
            _record("Describe this photo.\n\n<noinput>", "   "),
            _record("Compare.", chosen="As an AI model, I like A.", rejected="<nooutput>", row=1),
            _record("Say hi.", "Hi there, nice to meet you.", row=2),
        ]
    )
    result = QualityCheck().run(frame)
    got = {
        (r["row"], r["reason"], json.loads(r["evidence"])["side"])
        for r in result.findings.iter_rows(named=True)
    }
    assert got == {
        (0, "placeholder_input", "prompt"),
        (0, "empty_answer", "completion"),
        (0, "needs_unseen_content", "prompt"),
        (1, "assistant_boilerplate", "chosen"),
        (1, "placeholder_answer", "rejected"),
    }
    assert set(result.findings["severity"]) == {"review"}
    assert result.figures.by_reason["empty_answer"] == 1
    assert result.findings.schema == pl.Schema(
        {
            "record_id": pl.Utf8,
            "row": pl.Int64,
            "check": pl.Utf8,
            "severity": pl.Utf8,
            "reason": pl.Utf8,
            "evidence": pl.Utf8,
            "cluster_id": pl.Utf8,
        }
    )


def test_config_severity_and_skip() -> None:
    frame = to_frame([_record("Write.\n\nN/A", "")])
    config = QualityConfig(severity={"empty_answer": "drop"}, skip=("placeholder_input",))
    overrides = CurateConfig(quality=config).severity_overrides()  # applied by run_steps
    found = run_steps(frame, [QualityCheck(config)], overrides).findings
    assert found.select("reason", "severity").rows() == [("empty_answer", "drop")]


def test_length_outliers_are_robust() -> None:
    normal = [
        _record(f"Question {i}?", " ".join(f"v{k}" for k in range(20 + i % 7)), row=i)
        for i in range(60)
    ]
    long = _record("Short?", " ".join(f"w{i}" for i in range(900)), row=99)
    found = QualityCheck().run(to_frame([*normal, long])).findings
    flagged = found.filter(pl.col("reason").is_in(["length_outlier", "length_ratio_outlier"]))
    assert set(flagged["row"]) == {99}
    evidence = json.loads(flagged.filter(pl.col("reason") == "length_outlier")["evidence"][0])
    assert evidence["value"] == 900 and evidence["direction"] == "long" and evidence["z"] > 3.5
    # Too few answers for a stable median: no outliers at all.
    few = QualityCheck().run(to_frame([*normal[:10], long]))
    assert few.findings.is_empty() and few.figures.length_outliers.startswith("skipped")


# -- real data ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def alpaca_quality(shared_data):
    import curate

    records = curate.read_dataset(shared_data / "alpaca_random_9k.json").records
    return records, QualityCheck().run(records)


def test_every_check_finds_real_alpaca_defects(alpaca_quality) -> None:
    records, result = alpaca_quality
    counts = result.figures.by_reason
    # Alpaca (text-davinci-003, 2023) has no "As an AI language model" answers: that check is
    # shown on the preference demo below.
    for reason in set(QUALITY_REASONS) - {"assistant_boilerplate"}:
        assert counts[reason] > 0, reason
    findings = result.findings
    by_row = {
        (r["row"], r["reason"]): json.loads(r["evidence"]) for r in findings.iter_rows(named=True)
    }
    rows = {r["row"]: r for r in records.select("row", "completion").iter_rows(named=True)}
    # A few we read by eye (rows of the file, 0-based).
    merged = [k for k in by_row if k[1] == "merged_instructions"]
    assert all("Instruction" in by_row[k]["span"] for k in merged)
    empty = [row for row, reason in by_row if reason == "empty_answer"]
    assert all(not rows[r]["completion"][0]["content"].strip() for r in empty)
    assert len(set(findings["record_id"])) == result.figures.records_flagged


def test_boilerplate_on_real_preference_pairs(shared_data) -> None:
    import curate

    records = curate.read_dataset(shared_data / "dpo_en_demo.json").records
    found = QualityCheck().run(records).findings.filter(pl.col("reason") == "assistant_boilerplate")
    sides = {json.loads(e)["side"] for e in found["evidence"]}
    assert len(found) >= 5 and sides == {"chosen", "rejected"}
