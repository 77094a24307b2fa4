"""The readiness verdict rules, and volatile-fact detection."""

from __future__ import annotations

from typing import get_args

from pydantic import BaseModel

from curate.audit.verdict import VerdictConfig, decide
from curate.audit.volatile import VolatileConfig, VolatileFacts, facts, is_fact_heavy
from curate.checks.pii import PIICheck
from curate.checks.quality import QualityCheck
from curate.pipeline.result import CurationResult


def partial(model: type[BaseModel], data: dict) -> BaseModel:
    """``model`` built from partial data without validation: only the figures the verdict reads."""
    values = {}
    for key, value in data.items():
        annotation = model.model_fields[key].annotation
        kinds = (annotation, *get_args(annotation))  # X, or the X of ``X | None``
        sub = next((t for t in kinds if isinstance(t, type) and issubclass(t, BaseModel)), None)
        values[key] = partial(sub, value) if sub and isinstance(value, dict) else value
    return model.model_construct(**values)


def report(**over):
    base = {
        "n_records": 3000,
        "n_kept": 2950,
        "dropped_by_reason": {"exact_duplicate": 50},
        "findings_by_check": {"quality": 30, "pii": 3},
        "figures": {
            "quality": {"records": 2990, "records_flagged": 45, "records_with_defects": 30},
            "pii": {"records": 2990, "records_flagged": 3},
            "contradictions": {"records_in_conflict": 6},
            "format": {"deviants": 60},
            "diversity": {
                "templates": {"top_share": 0.05},
                "clusters": {"entropy": 0.9},
                "prompts": {"distinct_2": 0.5},
            },
            "volatile": {"fact_heavy_share": 0.1},
        },
    }
    for key, value in over.items():
        if key in base["figures"]:
            base["figures"][key] = {**base["figures"][key], **value}
        else:
            base[key] = value
    return partial(CurationResult, base)


def test_a_clean_varied_set_of_the_right_size_is_ready():
    v = decide(report())
    assert v.verdict == "ready" and v.reasons == []
    assert all(c.passed for c in v.checks) and len(v.checks) == len(VerdictConfig.model_fields)
    assert all(c.explanation for c in v.checks)


def test_each_rule_leads_to_its_verdict():
    dup = decide(report(dropped_by_reason={"near_duplicate": 400}))
    assert dup.verdict == "fix data first" and "duplicate share" in dup.reasons[0]
    conflict = decide(report(contradictions={"records_in_conflict": 90}))
    assert conflict.verdict == "fix data first"
    small = decide(report(n_kept=300))
    assert small.verdict == "too small / too narrow" and "records is 300" in small.reasons[0]
    narrow = decide(report(diversity={"templates": {"top_share": 0.8}}))
    assert narrow.verdict == "too small / too narrow" and "template share" in narrow.reasons[0]
    facts_ = decide(report(volatile={"fact_heavy_share": 0.7}, n_kept=100))
    assert facts_.verdict == "consider retrieval instead"
    assert facts_.reasons[0].startswith("consider retrieval instead")  # most serious first
    assert len(facts_.reasons) == 2


def test_a_large_set_gets_a_note_not_a_failure_and_missing_steps_pass():
    big = decide(report(n_kept=20000))
    assert big.verdict == "ready" and big.reasons[0].startswith("note:")
    bare = decide(partial(CurationResult, {"n_records": 2000, "n_kept": 2000, "figures": {}}))
    assert bare.verdict == "ready"
    assert {c.rule for c in bare.checks if c.value is None} >= {"max_contradiction_share"}


def test_thresholds_come_from_the_config():
    strict = VerdictConfig(max_format_deviant_share=0.01)
    assert decide(report(), strict).verdict == "fix data first"


def test_volatile_facts_are_found_and_dominate_fact_answers(sft_frame):
    text = "As of 2023, the iPhone 15 costs $799 and runs iOS 17.0.1 from Apple Inc in Cupertino."
    found = facts(text)
    assert found["date"] == ["2023"] and found["price"] == ["$799"]
    assert found["version"] == ["17.0.1"] and found["current_event"] == ["As of"]
    assert is_fact_heavy(text, VolatileConfig())[0]
    assert not is_fact_heavy(
        "Use short sentences and a friendly tone in every reply.", VolatileConfig()
    )[0]
    frame = sft_frame([("Price?", text), ("Style?", "Be brief and kind."), ("Tone?", "Warm.")])
    figures = VolatileFacts().run(frame).figures
    assert figures.fact_heavy == 1 and figures.fact_heavy_share == round(1 / 3, 4)


def _check(verdict, rule):
    return next(c for c in verdict.checks if c.rule == rule)


def test_pii_and_quality_shares_count_records_not_findings(sft_frame):
    # one record holds an email, a phone number and a card on both sides: six findings
    crowded = "Write to maria.gonzalez@fastmail.com, call (415) 867-5309, card 4539 1488 0343 6467."
    frame = sft_frame(
        [
            (crowded, "Noted: " + crowded),
            ("Explain photosynthesis.", "Plants turn light into sugar."),
            ("Explain tides.", "The moon pulls the oceans."),
        ]
    )
    pii = PIICheck().run(frame)
    assert pii.findings.height >= 6 and pii.figures.records_flagged == 1
    quality = QualityCheck().run(frame)
    result = partial(
        CurationResult,
        {
            "n_records": 3,
            "n_kept": 3,
            "findings_by_check": {"pii": pii.findings.height, "quality": 7},
            "figures": {"pii": pii.figures, "quality": quality.figures},
        },
    )
    v = decide(result)
    share = _check(v, "max_pii_share")
    assert share.value == round(1 / 3, 4)  # one record of three, whatever its findings
    assert not share.passed and v.verdict == "fix data first"
    assert "pii share is 33.3%" in " ".join(v.reasons)
    quality_share = _check(v, "max_quality_share").value
    assert quality_share is not None and quality_share <= 1
    assert all(c.value <= 1 for c in v.checks if c.rule.endswith("_share") and c.value)


def test_every_row_behind_a_failed_rule_is_listed_in_fix_order():
    from curate.pipeline.step import Finding, findings_frame
    from curate.report.fixlist import rows_to_fix

    result = report(quality={"records_with_defects": 300}, format={"deviants": 400})
    result = result.model_copy(update={"verdict": decide(result)})

    def f(i, check, reason, **evidence):
        return Finding(
            record_id=f"r{i}", row=i, check=check, severity="review", reason=reason,
            evidence=evidence,
        )  # fmt: skip

    findings = findings_frame(
        [
            f(1, "quality", "length_outlier", z=4.0),
            f(2, "format", "format_deviant", difference="structure"),
            f(3, "quality", "empty_answer"),
            f(4, "format", "json_keys_deviant"),
            f(5, "format", "format_deviant", difference="hard"),
            f(6, "pii", "email"),  # its rule passed: not a row to fix
            f(7, "quality", "truncated_answer"),
        ]
    )
    groups = dict(rows_to_fix(result, findings))
    assert set(groups) == {"max_quality_share", "max_format_deviant_share"}
    assert groups["max_quality_share"]["record_id"].to_list() == ["r3", "r7", "r1"]
    # format deviants are listed too: JSON among prose before a list among paragraphs
    assert groups["max_format_deviant_share"]["record_id"].to_list() == ["r5", "r2", "r4"]


def test_length_statistics_are_listed_but_not_counted_as_defects(sft_frame):
    answers = [
        " ".join(["Answer", str(i), *["plain words"] * (1 + i % 4)]) + "." for i in range(60)
    ]
    answers[0] = " ".join(f"fact{k}" for k in range(400)) + "."  # a length outlier, nothing broken
    answers[1] = ""  # a defect
    frame = sft_frame([(f"Question {i}?", a) for i, a in enumerate(answers)])
    figures = QualityCheck().run(frame).figures
    assert figures.by_reason["length_outlier"] >= 1 and figures.by_reason["empty_answer"] == 1
    assert figures.records_flagged >= 2 and figures.records_with_defects == 1
    share = _check(decide(report(quality=figures.model_dump())), "max_quality_share")
    assert share.value == round(1 / 60, 4)
