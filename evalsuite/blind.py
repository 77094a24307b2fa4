"""Human blind A/B tests: export a sheet with hidden, randomised labels; import the verdicts.

The sheet shows each case's two answers as "A" and "B" in a random order (seeded) and in a
shuffled case order; which side is the tuned model lives only in a separate key file. Imported
verdicts are mapped back through the key, counted as win/tie/loss, and compared with the LLM
judge's verdicts on the same cases (Cohen's kappa).
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from curate import InputError, NotFoundError
from evalsuite.compare import Comparison

COLUMNS = ("item", "prompt", "response_a", "response_b", "verdict", "note")
"""The sheet's columns; a rater fills ``verdict`` with A, B or tie."""
_VERDICTS = {"a": "A", "b": "B", "tie": "tie", "same": "tie", "=": "tie", "equal": "tie"}

Label = Literal["base", "tuned", "tie"]


class HumanVerdict(BaseModel):
    """One rated item, mapped back to base/tuned."""

    model_config = ConfigDict(frozen=True)

    item: str
    case_id: str
    verdict: Label
    judge: Label | None = None
    """The LLM judge's verdict on the same case, where there is a valid one."""


class BlindResult(BaseModel):
    """What the raters said, and how far the LLM judge agrees with them."""

    model_config = ConfigDict(frozen=True)

    items: int
    """Items on the sheet."""
    rated: int
    """Items with a valid verdict."""
    skipped: dict[str, int] = Field(default_factory=dict)
    """Items without a usable verdict, by reason (``unrated``, ``invalid_verdict``, ``unknown_item``)."""
    tuned_wins: int
    ties: int
    base_wins: int
    judge_kappa: float | None = None
    """Cohen's kappa between the LLM judge and the raters (None: no overlap or undefined)."""
    judge_agreement: float | None = None
    """Share of commonly judged items where judge and raters agree."""
    judge_overlap: int = 0
    """Items both the judge and the raters gave a valid verdict on."""
    verdicts: list[HumanVerdict] = Field(default_factory=list)


def export_blind(comparison: Comparison, out_dir: str | Path, *, seed: int = 0) -> list[Path]:
    """Write ``sheet.csv``, ``sheet.html`` (the same items, with buttons) and ``key.json``.

    Keep ``key.json`` away from the raters: it holds which side is which.
    """
    rng = random.Random(seed)
    cases = list(comparison.cases)
    rng.shuffle(cases)
    rows, key = [], {}
    for i, case in enumerate(cases, start=1):
        item = f"item-{i:04d}"
        tuned_is_a = rng.random() < 0.5
        a, b = (
            (case.tuned_output, case.base_output)
            if tuned_is_a
            else (case.base_output, case.tuned_output)
        )
        rows.append(
            {
                "item": item,
                "prompt": case.prompt,
                "response_a": a,
                "response_b": b,
                "verdict": "",
                "note": "",
            }
        )
        key[item] = {"case_id": case.id, "A": "tuned" if tuned_is_a else "base"}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "sheet.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    (out / "sheet.html").write_text(_sheet_html(rows), encoding="utf-8")
    (out / "key.json").write_text(
        json.dumps(
            {"seed": seed, "suite_sha256": comparison.base.suite_sha256, "items": key}, indent=1
        ),
        encoding="utf-8",
    )
    return [out / "sheet.csv", out / "sheet.html", out / "key.json"]


def import_blind(
    sheet: str | Path, key: str | Path, comparison: Comparison | None = None
) -> BlindResult:
    """Read a filled sheet (CSV), map verdicts through the key, compare with the LLM judge.

    Raises:
        NotFoundError: the sheet or the key does not exist.
        InputError: the sheet lacks the ``item`` or ``verdict`` column.
    """
    for p in (sheet, key):
        if not Path(p).is_file():
            raise NotFoundError(f"{p} does not exist")
    items = json.loads(Path(key).read_text(encoding="utf-8"))["items"]
    with Path(sheet).open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not {"item", "verdict"} <= set(reader.fieldnames or ()):
            raise InputError(f"{sheet}: the sheet needs 'item' and 'verdict' columns")
        rows = list(reader)
    judged = {}
    if comparison is not None and comparison.judge is not None:
        judged = {
            j.case_id: j.verdict for j in comparison.judge.judgments if j.verdict != "invalid"
        }
    skipped: dict[str, int] = {}
    verdicts = []
    for row in rows:
        entry = items.get(row["item"])
        raw = (row.get("verdict") or "").strip().lower()
        reason = (
            "unknown_item"
            if entry is None
            else "unrated"
            if not raw
            else "invalid_verdict"
            if raw not in _VERDICTS
            else None
        )
        if reason:
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        choice = _VERDICTS[raw]
        a_side = entry["A"]
        b_side = "base" if a_side == "tuned" else "tuned"
        label: Label = "tie" if choice == "tie" else a_side if choice == "A" else b_side  # type: ignore[assignment]
        verdicts.append(
            HumanVerdict(
                item=row["item"],
                case_id=entry["case_id"],
                verdict=label,
                judge=judged.get(entry["case_id"]),
            )
        )
    both = [v for v in verdicts if v.judge is not None]
    kappa = agreement = None
    if both:
        agreement = sum(v.verdict == v.judge for v in both) / len(both)
        kappa = _kappa([v.judge for v in both], [v.verdict for v in both])  # type: ignore[misc]
    return BlindResult(
        items=len(rows),
        rated=len(verdicts),
        skipped=skipped,
        tuned_wins=sum(v.verdict == "tuned" for v in verdicts),
        ties=sum(v.verdict == "tie" for v in verdicts),
        base_wins=sum(v.verdict == "base" for v in verdicts),
        judge_kappa=kappa,
        judge_agreement=agreement,
        judge_overlap=len(both),
        verdicts=verdicts,
    )


def _kappa(a: list[str], b: list[str]) -> float | None:
    if len(set(a) | set(b)) < 2:
        return None  # one label only: chance agreement is 1 and kappa is undefined
    from sklearn.metrics import cohen_kappa_score

    return float(cohen_kappa_score(a, b, labels=["base", "tie", "tuned"]))


def _sheet_html(rows: list[dict[str, str]]) -> str:
    from html import escape

    cards = "".join(
        f"<div class='c'><h3>{r['item']}</h3><pre>{escape(r['prompt'])}</pre><div class='g'>"
        f"<div><b>A</b><pre>{escape(r['response_a'])}</pre></div>"
        f"<div><b>B</b><pre>{escape(r['response_b'])}</pre></div></div>"
        + "".join(
            f"<label><input type='radio' name='{r['item']}' value='{v}'> {v}</label> "
            for v in ("A", "B", "tie")
        )
        + "</div>"
        for r in rows
    )
    data = json.dumps(rows).replace("</", "<\\/")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Blind A/B sheet</title>"
        "<style>body{font:14px system-ui;margin:24px;max-width:1200px}.g{display:grid;"
        "grid-template-columns:1fr 1fr;gap:10px}pre{white-space:pre-wrap;background:#f5f5f5;"
        "padding:8px}.c{border:1px solid #bbb;padding:10px;margin:12px 0}</style></head><body>"
        "<h1>Which answer is better?</h1><p>Pick A, B or tie for each item, then download the "
        "verdicts and send back the CSV.</p>"
        + cards
        + "<button id='dl'>Download verdicts CSV</button><script>const rows="
        + data
        + ";"
        "const q=s=>'\"'+String(s).replace(/\"/g,'\"\"')+'\"';"
        "document.getElementById('dl').onclick=()=>{const cols=" + json.dumps(COLUMNS) + ";"
        "const lines=[cols.join(',')].concat(rows.map(r=>{const c=document.querySelector("
        "'input[name=\"'+r.item+'\"]:checked');r.verdict=c?c.value:'';"
        "return cols.map(k=>q(r[k])).join(',');}));const a=document.createElement('a');"
        "a.href=URL.createObjectURL(new Blob([lines.join('\\n')],{type:'text/csv'}));"
        "a.download='verdicts.csv';a.click();};</script></body></html>\n"
    )
