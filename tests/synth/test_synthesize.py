"""The synthesis tasks end to end with a scripted generator (pure logic: selection, provenance,
dedup against the set, drops by reason, report, files, cache on rerun)."""

from __future__ import annotations

import json

import polars as pl
import pytest

from curate.errors import InputError
from curate.models.backends import CachedGenerator
from curate.models.generation import Generation
from curate.records import Message, Record, Source, to_frame
from curate.synth import SynthConfig, synthesize
from curate.synth.common import new_record
from curate.synth.screen import screen


def rec(row: int, prompt: str, answer: str) -> Record:
    return Record(
        id=f"id{row}",
        kind="sft",
        prompt=[Message(role="user", content=prompt)],
        completion=[Message(role="assistant", content=answer)],
        source=Source(file="set.jsonl", row=row),
    )


SET = to_frame(
    [
        rec(0, "Name the largest planet in the solar system.", "Jupiter is the largest planet."),
        rec(1, "Explain why the sky looks blue during the day.", ""),
        rec(2, "Translate 'good morning' into Spanish.", "Buenos días."),
        rec(3, "List three uses of copper in everyday life.", "Wires, pipes and coins."),
    ]
)


class Scripted:
    """Answers by the kind of request it sees; counts what it was asked."""

    backend = "scripted"
    model = "teacher-1"

    def __init__(self) -> None:
        self.calls = 0

    def generate(self, chats, params, adapter=None):
        self.calls += len(chats)
        return [Generation(text=self._answer(c[-1].content), finish_reason="stop") for c in chats]

    def _answer(self, text: str) -> str:
        if text.startswith("You are grading"):
            a = text.split("Answer A:\n")[1].split("\n\nAnswer B:")[0]
            return "B" if "WRONG" in a else "A"
        if text.startswith("Rewrite the following request"):
            request = text.split("Request:\n")[1].strip()
            if "copper" in request:  # a rewrite that is the same as another prompt of the set
                return "Name the largest planet in the solar system."
            if "tersely" in text:
                return " ".join(request.split()[:4])
            if "question" in text:
                return "Here is the rewritten request: Could you tell me this: " + request
            return "Please, if you have a moment, " + request + " Explain it with all the details."
        if text.startswith("The first answer below"):
            return "The first answer names the wrong thing."
        if text.startswith("Here is a request and a good answer"):
            if "Spanish" in text:
                return "Buenos días."  # the same as the good answer: a near-duplicate pair
            return "WRONG: an answer with a deliberate mistake in it."
        return "A careful answer from the teacher, in full sentences."


def test_teacher_answers_weak_records_and_keeps_the_original(store, tmp_path):
    result = synthesize(
        "teacher",
        SET,
        SynthConfig(min_answer_words=3),
        store=store,
        generator=Scripted(),
        out_dir=tmp_path / "out",
    )
    report = result.report
    assert report.selected == {"missing": 1, "short": 1}  # row 1 empty, row 2 two words
    rows = result.records.sort("row").to_dicts()
    assert [r["row"] for r in rows] == [1, 2]
    synth = json.loads(rows[1]["meta"])["synth"]
    assert synth["original"] == "Buenos días." and synth["source_id"] == "id2"
    assert synth["model"] == "teacher-1" and synth["template"] == "teacher@1"
    assert report.n_kept == 2 and report.dropped == {}
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "records.jsonl",
        "dropped.jsonl",
        "report.json",
    }


def test_diversify_rewrites_in_rotating_styles_and_dedups_against_the_set(store):
    config = SynthConfig(variants=2, styles=("question", "terse", "verbose"))
    result = synthesize("diversify", SET, config, store=store, generator=Scripted())
    report = result.report
    assert sum(report.by_style.values()) == 8 and set(report.by_style) == {
        "question",
        "terse",
        "verbose",
    }
    # The copper prompt's two rewrites repeat another prompt of the set (and each other); the
    # terse rewrite of row 2 is a near-duplicate of its original; row 1's answer is empty (a
    # rewrite keeps its answer, so the quality check drops those too).
    assert report.dropped == {
        "duplicate_of_existing": 2,
        "duplicate_synthetic": 1,
        "empty_answer": 2,
    }
    kept = result.records.to_dicts()
    assert len(kept) == 3 and report.n_kept == 3
    assert "Translate 'good morning' into" not in [k["prompt"][0]["content"] for k in kept]
    first = json.loads(kept[0]["meta"])["synth"]
    assert first["original_prompt"] == "Name the largest planet in the solar system."
    assert kept[0]["prompt"][0]["content"].startswith("Could you tell")  # preface cleaned off
    assert kept[0]["completion"] == SET["completion"][0].to_list()  # the answer is kept


def test_negatives_are_verified_and_corrected(store, tmp_path):
    config = SynthConfig(
        error_types=("factual_error", "verbosity"), correction_types=("factual_error",)
    )
    result = synthesize(
        "negatives", SET, config, store=store, generator=Scripted(), out_dir=tmp_path
    )
    report = result.report
    # Row 1 has no answer to contrast; row 2's rejected equals its chosen: near-duplicate pair.
    assert report.dropped == {"near_duplicate_pair": 1, "no_answer_to_contrast": 1}
    assert report.n_kept == 2 and report.verification.consistent == 2
    # Types rotate over the usable rows 0, 2, 3: factual, verbosity (the twin), factual.
    assert report.by_error_type == {
        "factual_error": {"generated": 2, "kept": 2},
        "verbosity": {"generated": 1, "kept": 0},
    }
    pairs = result.records.to_dicts()
    assert all(p["rejected"][0]["content"].startswith("WRONG") for p in pairs)
    assert {json.loads(p["meta"])["synth"]["error_type"] for p in pairs} == {"factual_error"}
    fixes = result.corrections.to_dicts()
    assert len(fixes) == report.n_corrections == 2
    text = fixes[0]["completion"][0]["content"]
    assert (
        text.startswith("WRONG")
        and "names the wrong thing" in text
        and text.endswith("Jupiter is the largest planet.")
    )
    dropped = [json.loads(line) for line in (tmp_path / "dropped.jsonl").read_text().splitlines()]
    assert {d["reason"] for d in dropped} == {"near_duplicate_pair", "no_answer_to_contrast"}


def test_rerun_is_served_from_the_cache(store):
    scripted = Scripted()
    config = SynthConfig(error_types=("factual_error",))
    first = synthesize(
        "negatives", SET, config, store=store, generator=CachedGenerator(scripted, store)
    )
    asked = scripted.calls
    again = synthesize(
        "negatives", SET, config, store=store, generator=CachedGenerator(scripted, store)
    )
    assert scripted.calls == asked  # nothing generated twice
    assert again.report.cache == {"hits": first.report.cache["misses"], "misses": 0}
    assert again.records.equals(first.records)


def test_screen_drops_synthetic_duplicates_and_empty_answers():
    base = SET.row(0, named=True)
    existing = rec(
        0, "Name the largest planet in the solar system.", "Jupiter is the largest planet."
    )
    synth = {"task": "teacher", "source_id": "id0"}
    copy = new_record(existing, completion="Jupiter is the largest planet.", synth=synth)
    twin_a = new_record(
        rec(3, "Why do cats purr when they are happy?", "x"),
        completion="Cats purr to communicate contentment and also to self-soothe.",
        synth={**synth, "source_id": "id3"},
    )
    twin_b = new_record(
        rec(3, "Why do cats purr when they are happy?", "x"),
        completion="Cats purr to communicate contentment and also to self-soothe!",
        synth={**synth, "source_id": "id3"},
    )
    empty = new_record(
        rec(2, "Translate 'good morning' into Spanish.", "x"),
        completion="",
        synth={**synth, "source_id": "id2"},
    )
    kept, drops = screen([copy, twin_a, twin_b, empty], SET, SynthConfig())
    assert base["id"] == "id0"
    assert sorted(d.reason for d in drops) == [
        "duplicate_of_existing",
        "duplicate_synthetic",
        "empty_answer",
    ]
    assert len(kept) == 1 and kept[0].id in (twin_a.id, twin_b.id)


def test_unknown_task_is_an_input_error(store):
    with pytest.raises(InputError, match="unknown synthesis task"):
        synthesize("paraphrase", SET, store=store, generator=Scripted())  # type: ignore[arg-type]
    assert isinstance(SET, pl.DataFrame)


def test_teacher_answers_records_flagged_by_curation_findings(store, tmp_path):
    from api.commands.synth import _flagged

    findings = tmp_path / "findings.parquet"
    pl.DataFrame({"record_id": ["id3"], "reason": ["refusal"]}).write_parquet(findings)
    result = synthesize(
        "teacher",
        SET,
        SynthConfig(),
        store=store,
        generator=Scripted(),
        flagged=_flagged(str(findings)),
    )
    assert result.report.selected == {"missing": 1, "short": 1, "flagged": 1}
    assert "id3" in {json.loads(m)["synth"]["source_id"] for m in result.records["meta"]}
