"""Precision and recall of the review findings: before (HEAD) and after, in one run.

Precision: the share of rows with a ``review`` finding on real sets believed clean
(alpaca_en_demo.json, dpo_en_demo.json, the top-ranked human answers of the OASST trees).
Recall: defects planted into alpaca_en_demo.json that must still be found. Verdict figures
(quality share, format-deviant share) on all six real sets, to derive the thresholds from.

"Before" is the code of a git worktree of HEAD (``git worktree add /tmp/tunesmith_head HEAD``),
run in a subprocess with ``PYTHONPATH`` pointing at it; "after" is this checkout. Both measure
the same files with the same steps: exact and near dedup, quality, PII, tool calls,
contradictions over same-prompt pairs, format. The embedding steps (semantic dedup, semantic
contradiction pairs, diversity) and volatile facts are off: they are not what is measured here.
The format step clusters instructions by TF-IDF (no embedder) unless ``--embed`` is given.

    .venv/bin/python bench/precision.py [--baseline /tmp/tunesmith_head] [--embed]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
CLEAN = ("alpaca_en_demo.json", "dpo_en_demo.json", "oasst_top")
ALL_SETS = (
    "alpaca_random_9k.json",
    "alpaca_en_demo.json",
    "dpo_en_demo.json",
    "hh_rlhf_harmless_base_test.jsonl.gz",
    "oasst_en_100_tree.jsonl",
    "oasst_top",
    "bfcl_simple_multiple_openai.jsonl",
)
PLANTS = 20
"""Rows planted per defect kind."""


def _records(name: str):
    import polars as pl

    from curate import read_dataset

    if name != "oasst_top":
        return read_dataset(DATA / name).records
    # the OASST conversations whose every answer is a human reply ranked first by annotators
    records = read_dataset(DATA / "oasst_en_100_tree.jsonl").records.filter(pl.col("kind") == "sft")

    def top(row: dict) -> bool:
        answers = [m for m in [*row["prompt"], *row["completion"]] if m["role"] == "assistant"]
        extras = [json.loads(m["extra"] or "{}") for m in answers]
        return all(e.get("rank") == 0 and not e.get("synthetic") for e in extras)

    keep = [top(r) for r in records.iter_rows(named=True)]
    return records.filter(pl.Series(keep))


def _steps(embed: bool):
    from curate.audit.format_profile import FormatProfile
    from curate.pipeline.config import CurateConfig
    from curate.pipeline.run import build_steps

    cfg = CurateConfig.model_validate(
        {
            "semantic": {"enabled": False},
            "diversity": {"enabled": False},
            "volatile": {"enabled": False},
            "contradictions": {"semantic": False},
        }
    )
    steps = build_steps(cfg)
    if "embed" in FormatProfile.__init__.__code__.co_varnames:  # this checkout, not HEAD
        embedder = None
        if embed:
            from curate.models.embed import embed_texts

            def embedder(texts: list[str]):
                return embed_texts(texts, cfg.semantic.model)

        steps = [
            FormatProfile(cfg.format, embed=embedder) if s.name == "format" else s for s in steps
        ]
    return cfg, steps


def _run(records, embed: bool) -> dict:
    import polars as pl

    from curate.pipeline.step import run_steps

    cfg, steps = _steps(embed)
    start = time.perf_counter()
    out = run_steps(records, steps, cfg.severity_overrides())
    seconds = time.perf_counter() - start
    review = out.findings.filter(pl.col("severity") == "review")
    quality: Any = out.figures.get("quality")
    fmt: Any = out.figures.get("format")
    n = len(records)
    return {
        "records": n,
        "review_share": review["record_id"].n_unique() / max(1, n),
        "by_reason": {
            k: v
            for k, v in review.group_by("reason")
            .agg(pl.col("record_id").n_unique())
            .sort("record_id", descending=True)
            .iter_rows()
        },
        "quality_share": quality.records_flagged / max(1, quality.records) if quality else None,
        "format_deviant_share": fmt.deviants / max(1, n) if fmt else None,
        "seconds": round(seconds, 1),
        "findings": out.findings,
    }


# The planting is the same for both checkouts, so it uses none of the code it measures.
_STRUCTURE = re.compile(r"^\s*(?:[-*•+#|]|\d{1,3}[.)]|```)|[{}=]", re.M)
_ASKS_FORMAT = re.compile(
    r"\b(?:json|code|function|program|script|list|table|steps?|outline|algorithm|sql|python)\b",
    re.I,
)


def _plain_prose(text: str) -> bool:
    return not _STRUCTURE.search(text)


def _plant(seed: int = 0):
    """alpaca_en_demo.json with defects planted in distinct rows; the truth per kind."""
    import polars as pl

    from curate.records import text_of

    records = _records("alpaca_en_demo.json")
    rows = records.to_dicts()
    rng = random.Random(seed)
    answers = [text_of(r["completion"]) for r in rows]
    prompts = [text_of(r["prompt"]) for r in rows]
    prose = [
        i
        for i, a in enumerate(answers)
        if _plain_prose(a) and len(a.split()) >= 60 and not _ASKS_FORMAT.search(prompts[i])
    ]
    rng.shuffle(prose)
    kinds = ("truncated_prose", "json_among_prose", "code_among_prose", "empty", "open_code")
    truth: dict[str, list[str]] = {k: [] for k in kinds}
    for k, kind in enumerate(kinds):
        for i in prose[k * PLANTS : (k + 1) * PLANTS]:
            a = answers[i]
            words = a.split()
            if kind == "truncated_prose":  # cut mid-sentence, at a word that ends no sentence
                cut = int(len(words) * 0.6)
                while words[cut - 1][-1] in ".!?:;,":
                    cut += 1
                new = " ".join(words[:cut])
            elif kind == "json_among_prose":
                new = json.dumps({"answer": " ".join(words[:25])})
            elif kind == "code_among_prose":
                new = f"```python\ndef answer():\n    return {' '.join(words[:8])!r}\n```"
            elif kind == "empty":
                new = ""
            else:
                new = "Here is how:\n```python\nimport os\nfor name in os.listdir('.'):\n    print("
            rows[i]["completion"] = [{**rows[i]["completion"][0], "content": new}]
            truth[kind].append(rows[i]["id"])
    # format conflicts: a JSON copy of a prose record, same prompt, same content
    pairs = []
    for i in prose[len(kinds) * PLANTS : (len(kinds) + 1) * PLANTS]:
        twin = dict(rows[i])
        twin["id"] = rows[i]["id"] + "-json"
        twin["completion"] = [
            {**rows[i]["completion"][0], "content": json.dumps({"answer": answers[i]})}
        ]
        pairs.append((rows[i]["id"], twin["id"]))
        rows.append(twin)
    frame = pl.DataFrame(rows, schema=records.schema)
    return frame, truth, pairs


EXPECT = {
    "truncated_prose": "truncated_answer",
    "json_among_prose": "format_deviant",
    "code_among_prose": "format_deviant",
    "empty": "empty_answer",
    "open_code": "truncated_answer",
}


def measure(embed: bool) -> dict:
    """Every figure of this checkout (or of the one on PYTHONPATH)."""
    import polars as pl

    sets = {}
    for name in ALL_SETS:
        r = _run(_records(name), embed)
        r.pop("findings")
        sets[name] = r
    frame, truth, pairs = _plant()
    planted = _run(frame, embed)
    found = planted["findings"]
    recall = {}
    for kind, ids in truth.items():
        hit = found.filter(pl.col("reason") == EXPECT[kind])["record_id"].unique().to_list()
        recall[kind] = sum(i in set(hit) for i in ids) / len(ids)
    conflict = set(found.filter(pl.col("reason") == "conflicting_format")["record_id"].to_list())
    dropped = set(found.filter(pl.col("severity") == "drop")["record_id"].to_list())
    recall["format_conflict_pair"] = sum(a in conflict and b in conflict for a, b in pairs) / len(
        pairs
    )
    recall["format_pair_merged_by_dedup"] = sum(
        a in dropped or b in dropped for a, b in pairs
    ) / len(pairs)
    return {"sets": sets, "recall": recall, "planted_review_share": planted["review_share"]}


def _before(baseline: str, embed: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": baseline}
    cmd = [sys.executable, __file__, "--measure-only"] + (["--embed"] if embed else [])
    out = subprocess.run(cmd, env=env, cwd=baseline, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"the baseline run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="/tmp/tunesmith_head", help="a worktree of HEAD")
    parser.add_argument("--embed", action="store_true", help="cluster tasks by embeddings")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_only:
        print(json.dumps(measure(args.embed)))
        return
    before = _before(args.baseline, args.embed)
    after = measure(args.embed)
    print("## review-flag share (rows with a review finding)\n")
    print(
        "| set | records | before | after | format_deviant before/after | truncated before/after |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name in ALL_SETS:
        b, a = before["sets"][name], after["sets"][name]
        fd = (
            f"{b['by_reason'].get('format_deviant', 0)} / {a['by_reason'].get('format_deviant', 0)}"
        )
        tr = (
            f"{b['by_reason'].get('truncated_answer', 0)} / "
            f"{a['by_reason'].get('truncated_answer', 0)}"
        )
        mark = " (clean)" if name in CLEAN else ""
        print(
            f"| {name}{mark} | {a['records']:,} | {b['review_share']:.3f} | "
            f"{a['review_share']:.3f} | {fd} | {tr} |"
        )
    print("\n## verdict figures: quality share, format-deviant share (before -> after)\n")
    print("| set | quality share | format-deviant share | seconds before/after |")
    print("|---|---:|---:|---:|")
    for name in ALL_SETS:
        b, a = before["sets"][name], after["sets"][name]
        print(
            f"| {name} | {b['quality_share']:.3f} -> {a['quality_share']:.3f} | "
            f"{b['format_deviant_share']:.3f} -> {a['format_deviant_share']:.3f} | "
            f"{b['seconds']} / {a['seconds']} |"
        )
    print(f"\n## recall on {PLANTS} planted defects each (alpaca_en_demo.json)\n")
    print("| planted | before | after |")
    print("|---|---:|---:|")
    for kind in after["recall"]:
        print(f"| {kind} | {before['recall'].get(kind, 0):.2f} | {after['recall'][kind]:.2f} |")


if __name__ == "__main__":
    main()
