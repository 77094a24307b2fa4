"""The curation report never prints a planted secret or personal datum in clear: not in
report.html, report.md, report.json nor the findings' evidence, wherever a step quotes a record
(cluster examples, contradiction pairs, volatile-fact answers, quality spans, record excerpts)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from curate.checks.pii import mask_text

OPENAI = "sk-proj-Xq3vT9mL2kR7wP4nZ8yB1cD6fG0hJ5sA3eU9iO2lK7xN4"
GITHUB = "ghp_R7mK2xQ9vL4nW8pZ3tY6bC1dF5gH0jS2aE7u"
AWS = "AKIA4QZ7N2XW9RT5LMPB"
EMAIL = "maria.gonzalez@fastmail.com"
PHONE = "(415) 867-5309"
CARD = "4539 1488 0343 6467"  # Luhn-valid, a Visa prefix
PLANTED = {
    "openai key": OPENAI,
    "github token": GITHUB,
    "aws key": AWS,
    "email": EMAIL,
    "phone": PHONE,
    "phone digits": "867-5309",
    "card": CARD,
    "card digits": CARD.replace(" ", ""),
}
TOPICS = [
    "photosynthesis",
    "the French revolution",
    "binary search",
    "sourdough bread",
    "plate tectonics",
    "the stock market",
    "jazz harmony",
    "vaccines",
    "black holes",
    "compound interest",
    "the water cycle",
    "python decorators",
    "medieval castles",
    "coral reefs",
    "electric cars",
    "the Roman empire",
]


def _rows() -> list[dict[str, str]]:
    rows = [
        {
            "instruction": f"Explain {t} to a beginner.",
            "output": f"Here is a short, friendly explanation of {t}, step by step.",
        }
        for t in TOPICS
    ]
    planted = [
        (f"{OPENAI} is my key, why does the API reject it?", f"Rotate {OPENAI}; mail {EMAIL}."),
        (f"My GitHub token {GITHUB} stopped working", f"Revoke {GITHUB}. Call {PHONE}."),
        (f"Store AWS key {AWS} in config", f"Never commit {AWS}; use a secrets manager."),
        # an exact-duplicate pair: its cluster example quotes the prompt
        (f"Charge my card {CARD} for the order", f"I cannot process card {CARD}."),
        (f"Charge my card {CARD} for the order", f"I cannot process card {CARD}."),
        # one prompt, conflicting answers: the contradiction pair quotes both
        (f"What is the support code for {EMAIL}?", f"The answer is 42; write to {EMAIL}."),
        (f"What is the support code for {EMAIL}?", f"The answer is 17; call {PHONE}."),
        # fact-heavy: the volatile-facts example quotes the answer
        (
            "What does the premium plan cost now?",
            f"As of 2024 the plan costs $49.99 in version 3.2.1; call {PHONE}, key {GITHUB}.",
        ),
        # the email opens the prompt: the template skeleton and format task start with it
        (f"{EMAIL} asked: summarise this", f"Summary for {EMAIL}: card {CARD}, key {AWS}."),
        # truncated: the quality finding's evidence quotes the tail
        ("Finish the config file", f"api_key = {OPENAI} and then the rest of the"),
    ]
    rows += [{"instruction": p, "output": a} for p, a in planted]
    return [{**r, "input": ""} for r in rows]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """One real curation run (default config) over the planted set."""
    import curate
    from curate.store.store import Store

    base = tmp_path_factory.mktemp("secrets")
    data = base / "planted.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in _rows()), encoding="utf-8")
    store = Store(base / "store.duckdb")
    try:
        curate.run(data, out_dir=base / "out", store=store)
    finally:
        store.close()
    return base / "out"


def _leaks(text: str) -> list[str]:
    return [name for name, value in PLANTED.items() if value in text]


@pytest.mark.slow
def test_no_report_file_prints_a_planted_secret_in_clear(run_dir: Path) -> None:
    for name in ("report.html", "report.md", "report.json"):
        assert _leaks((run_dir / name).read_text(encoding="utf-8")) == [], name
    evidence = "\n".join(pl.read_parquet(run_dir / "findings.parquet")["evidence"].to_list())
    assert _leaks(evidence) == []


@pytest.mark.slow
def test_the_report_still_quotes_the_records_with_masked_spans(run_dir: Path) -> None:
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    # the excerpts are there (the steps did quote the records), masked as the evidence is
    pair = report["figures"]["contradictions"]["pairs"][0]
    assert pair["prompt"] == "What is the support code for ma***********************om?"
    assert "sk*************************************************N4" in html
    assert "Charge my card 45***************67 for the order" in html
    # around the spans, ordinary text (dates, prices, versions) is quoted as it was
    assert "What does the premium plan cost now? → As of 2024 the plan costs $49.99 in " in html
    findings = pl.read_parquet(run_dir / "findings.parquet")
    truncated = findings.filter(pl.col("reason") == "truncated_answer")["evidence"].to_list()
    assert truncated and "and then the rest of the" in truncated[0]
    # a share of records, not findings per record (26 findings in 10 records before the fix)
    pii = next(c for c in report["verdict"]["checks"] if c["rule"] == "max_pii_share")
    flagged = report["figures"]["pii"]["records_flagged"]
    assert pii["value"] == round(flagged / report["figures"]["pii"]["records"], 4) <= 1


def test_masking_hides_spans_and_keeps_ordinary_text() -> None:
    text = f"Mail {EMAIL} or use {OPENAI} before 2024-05-01, version 1.2.3, order 42."
    masked = mask_text(text)
    assert _leaks(masked) == []
    assert masked.startswith("Mail ma") and masked.endswith(
        "before 2024-05-01, version 1.2.3, order 42."
    )
    plain = "Add 2 cups of flour, bake at 180 C for 25 minutes; see https://example.com/bread."
    assert mask_text(plain) == plain
    assert mask_text(masked) == masked  # masking twice changes nothing


def test_findings_are_masked_as_each_evidence_alone_would_be() -> None:
    # The masker masks each distinct string once; repeats, keys, nesting and non-JSON evidence
    # come out as masking every row on its own gives, and a clean frame is left as it was.
    from curate.checks.pii_spans import Options
    from curate.report.masking import Masker

    dirty = json.dumps({"span": f"call {PHONE}", EMAIL: [OPENAI, {"k": CARD}]}, sort_keys=True)
    clean = json.dumps({"span": "bake at 180 C for 25 minutes"}, sort_keys=True)
    evidence = [dirty, clean, None, dirty, f"not json: {GITHUB}", clean, dirty]
    findings = pl.DataFrame({"row": list(range(len(evidence))), "evidence": evidence})
    masked = Masker(Options()).findings(findings)
    alone = [None if e is None else Masker(Options()).evidence(e) for e in evidence]
    assert masked["evidence"].to_list() == alone
    assert masked["row"].to_list() == findings["row"].to_list()
    assert all(_leaks(e) == [] for e in alone if e is not None) and alone[1] == clean
    plain = findings.filter(pl.col("evidence") != dirty)
    plain = plain.filter(~pl.col("evidence").str.starts_with("not json"))
    assert Masker(Options()).findings(plain) is plain
