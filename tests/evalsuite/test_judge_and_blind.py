"""The blind pairwise judge's position swap, strict verdicts with retries, and human blind A/B."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from curate.models.generation import Generation
from evalsuite import compare, export_blind, import_blind
from evalsuite.judge import LLMRubricJudge, PairItem, judge_pairs

ITEMS = [
    PairItem(
        case_id=f"c{i}",
        prompt=f"q{i}",
        base=f"base answer {i}" + " more" * (i % 3),
        tuned=f"tuned correct answer {i}",
    )
    for i in range(8)
]


def test_judge_that_always_prefers_position_a_yields_only_ties(fake_judges) -> None:
    always_first, _ = fake_judges
    judge = always_first()
    summary = judge_pairs(judge, ITEMS)
    assert judge.calls == 2 * len(ITEMS)  # both orders of every pair
    assert summary.ties == len(ITEMS)
    assert summary.tuned_wins == summary.base_wins == summary.invalid == 0
    assert all(j.base_first == "base" and j.tuned_first == "tuned" for j in summary.judgments)
    assert summary.position_consistency == 0.0
    assert summary.first_position_rate == 1.0


def test_position_blind_judge_is_consistent_and_decisive(fake_judges) -> None:
    _, content = fake_judges
    items = [*ITEMS, PairItem(case_id="flip", prompt="q", base="correct", tuned="wrong")]
    summary = judge_pairs(content(), items)
    assert (summary.tuned_wins, summary.base_wins, summary.ties) == (8, 1, 0)
    assert summary.position_consistency == 1.0 and summary.first_position_rate == 0.5
    # The tuned answers (winners) are the shorter ones in 5 of 8 pairs here, longer in 3.
    assert summary.longer_wins_rate is not None and 0 < summary.longer_wins_rate < 1


class _Flaky:
    """Replies invalid JSON first, then a valid verdict once shown its error."""

    backend, model = "fake", "flaky"

    def __init__(self, valid_after: int) -> None:
        self.valid_after = valid_after

    def generate(self, chats, params, adapter=None):
        out = []
        for chat in chats:
            tries = sum(m.role == "assistant" for m in chat)
            text = '{"winner": "tie"}' if tries >= self.valid_after else "I think A is better!"
            out.append(Generation(text=text, finish_reason="stop"))
        return out


def test_invalid_verdicts_are_retried_then_counted_invalid() -> None:
    fixed = judge_pairs(_Flaky(valid_after=2), ITEMS[:3])
    assert fixed.invalid == 0 and fixed.ties == 3 and fixed.retries == 2 * 6
    never = judge_pairs(_Flaky(valid_after=99), ITEMS[:3])
    assert never.invalid == 3 and never.ties == 0 and never.position_consistency is None


def test_json_that_breaks_the_verdict_schema_is_invalid(fake_judges) -> None:
    always_first, _ = fake_judges
    for reply in ('{"winner": "C"}', '{"winner": "A", "confidence": 0.9}', '["A"]'):
        summary = judge_pairs(always_first(reply), ITEMS[:2])
        assert summary.invalid == 2 and summary.retries == 2 * 2 * 2, reply


def test_rubric_judge_gives_none_after_bounded_retries() -> None:
    rubric = LLMRubricJudge(_Flaky(valid_after=99))
    assert rubric.grade("be polite", "q", "a", None) is None and rubric.retries == 2


def _comparison(run_of, fake_judges):
    rng = np.random.default_rng(0)
    n = 12
    b = (rng.random(n) < 0.5).astype(float)
    outputs_b = [f"plain {i}" for i in range(n)]
    outputs_t = [f"correct {i}" if i % 4 else f"plain {i}" for i in range(n)]
    base = run_of({"pass": b}, outputs=outputs_b)
    tuned = run_of({"pass": np.ones(n)}, outputs=outputs_t)
    _, content = fake_judges
    return compare(base, tuned, judge_generator=content())


def test_blind_export_hides_labels_and_import_maps_them_back(
    run_of, fake_judges, tmp_path: Path
) -> None:
    comparison = _comparison(run_of, fake_judges)
    sheet, page, key = export_blind(comparison, tmp_path, seed=3)
    rows = list(csv.DictReader(sheet.open()))
    assert len(rows) == 12 and all(r["verdict"] == "" for r in rows)
    text = sheet.read_text() + page.read_text()
    assert "tuned" not in text.lower().replace("tuned correct", "")  # no label leaks
    mapping = json.loads(key.read_text())["items"]
    sides = [mapping[r["item"]]["A"] for r in rows]
    assert 0 < sides.count("tuned") < 12  # randomised, not always the same side
    assert [mapping[r["item"]]["case_id"] for r in rows] != [f"c{i}" for i in range(12)]

    # A rater who prefers the answer that says "correct" (as the judge does), except one tie.
    for r in rows:
        a_good, b_good = "correct" in r["response_a"], "correct" in r["response_b"]
        r["verdict"] = "A" if a_good and not b_good else "B" if b_good and not a_good else "tie"
    rows[0]["verdict"] = ""
    rows[1]["verdict"] = "maybe"
    with sheet.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=rows[0].keys())
        w.writeheader()
        w.writerows(rows)
    result = import_blind(sheet, key, comparison)
    assert result.items == 12 and result.rated == 10
    assert result.skipped == {"unrated": 1, "invalid_verdict": 1}
    assert result.tuned_wins + result.ties + result.base_wins == 10
    assert result.judge_overlap == 10 and result.judge_agreement == 1.0
    assert result.judge_kappa == pytest.approx(1.0)


def test_cohen_kappa_drops_when_raters_disagree(run_of, fake_judges, tmp_path: Path) -> None:
    comparison = _comparison(run_of, fake_judges)
    sheet, _, key = export_blind(comparison, tmp_path)
    rows = list(csv.DictReader(sheet.open()))
    mapping = json.loads(key.read_text())["items"]
    for r in rows:  # always pick the base model's answer
        r["verdict"] = "A" if mapping[r["item"]]["A"] == "base" else "B"
    with sheet.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=rows[0].keys())
        w.writeheader()
        w.writerows(rows)
    result = import_blind(sheet, key, comparison)
    assert result.base_wins == 12
    assert result.judge_agreement < 0.5 and result.judge_kappa is not None
    assert result.judge_kappa < 0.2


def test_identical_answers_are_ties_that_do_not_count_as_position_consistent(fake_judges) -> None:
    from evalsuite.compare import _judge

    always_first, _ = fake_judges
    judge = always_first()
    same = [PairItem(case_id=f"s{i}", prompt="q", base="same", tuned="same") for i in range(8)]
    summary = _judge(judge, [*ITEMS[:2], *same], None, None, {})
    assert judge.calls == 4  # only the two differing pairs, in both orders
    assert summary.ties == 10 and sum(j.identical for j in summary.judgments) == 8
    assert summary.position_consistency == 0.0  # the judge never agreed with itself
    alone = _judge(always_first(), same, None, None, {})
    assert alone.ties == 8 and alone.position_consistency is None
