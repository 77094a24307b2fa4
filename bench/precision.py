"""Precision and recall of the review findings: before and after, in one run.

Precision: the share of rows with a ``review`` finding on real sets believed clean
(alpaca_en_demo.json, dpo_en_demo.json, the top-ranked human answers of the OASST trees).
Recall: defects planted into alpaca_en_demo.json that must still be found. Verdict figures
(quality share, format-deviant share) on all the real sets, to derive the thresholds from.

"Before" is, by default, the old rules re-applied to this checkout (``--baseline legacy``): format
tasks grouped by the instruction's first word, structure-only differences (a list among
paragraphs) judged at the plain dominance share, list answers whose last item ends without a
full stop called truncated, and dedup free to merge two answers that differ only in format. Given a path instead (``--baseline /tmp/tunesmith_head``, e.g. a
git worktree of an older commit), the code there is run in a subprocess with ``PYTHONPATH``
pointing at it. "After" is this checkout. Both measure the same files with the same steps: exact
and near dedup, quality, PII, tool calls, contradictions over same-prompt pairs, format. The
embedding steps (semantic dedup, semantic contradiction pairs, diversity) and volatile facts are
off: they are not what is measured here. The format step clusters instructions by TF-IDF (no
embedder) unless ``--embed`` is given.

    .venv/bin/python bench/precision.py [--baseline legacy|PATH] [--embed]
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


def _legacy() -> None:
    """Re-apply the old rules in this process (the baseline): truncation of list endings, and
    dedup free to merge answers that differ only in format."""
    from curate.audit import answer_conflicts
    from curate.checks import quality_damage

    answer_conflicts.GUARDED_KINDS = answer_conflicts.ANSWER_KINDS

    current = quality_damage.truncated
    item = re.compile(r"^(?:\d{1,3}[.)]|[a-zA-Z][.)]|[-*•+])\s+")

    def truncated(answer: str, min_words_mid_sentence: int = 25):  # type: ignore[no-untyped-def]
        found = current(answer, min_words_mid_sentence)
        last = answer.rstrip().rsplit("\n", 1)[-1].strip()
        listed = found is None and item.match(last) and len(last.split()) >= 3
        if listed and not last.endswith(tuple(".!?…\"')]}`")) and last[-1:].isalpha():
            return {"kind": "ends_mid_sentence", "span": last[-80:]}
        return found

    quality_damage.truncated = truncated


def _legacy_format(config, embed):  # type: ignore[no-untyped-def]
    """The format step as it was: tasks are the instruction's first word, and a structure-only
    difference counts at the plain dominance share."""
    import numpy as np

    from curate.audit.format_profile import _WORD, FormatProfile

    class FirstWordTasks(FormatProfile):
        def _tasks(self, asks: list[str]) -> tuple[np.ndarray, str]:
            firsts = [(_WORD.findall(a) or [""])[0].lower() for a in asks]
            ids = {w: i for i, w in enumerate(dict.fromkeys(firsts))}
            return np.array([ids[w] for w in firsts], dtype=np.int64), "first word"

    cfg = config.model_copy(update={"structure_dominance": config.dominance})
    return FirstWordTasks(cfg, embed=embed)


def _steps(embed: bool, legacy: bool = False):
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

        make = _legacy_format if legacy else FormatProfile
        steps = [make(cfg.format, embed=embedder) if s.name == "format" else s for s in steps]
    return cfg, steps


def _run(records, embed: bool, legacy: bool = False) -> dict:
    import polars as pl

    from curate.pipeline.step import run_steps

    cfg, steps = _steps(embed, legacy)
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
        # what the verdict counts now: records with a finding other than a length statistic
        "defect_share": (
            getattr(quality, "records_with_defects", quality.records_flagged)
            / max(1, quality.records)
            if quality
            else None
        ),
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


def measure(embed: bool, legacy: bool = False) -> dict:
    """Every figure of this checkout (or of the one on PYTHONPATH; or the old rules)."""
    import polars as pl

    if legacy:
        _legacy()
    sets = {}
    for name in ALL_SETS:
        r = _run(_records(name), embed, legacy)
        r.pop("findings")
        sets[name] = r
    frame, truth, pairs = _plant()
    planted = _run(frame, embed, legacy)
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
    cmd = [sys.executable, __file__, "--measure-only"] + (["--embed"] if embed else [])
    if baseline == "legacy":
        cmd.append("--legacy")
        env, cwd = dict(os.environ), None
    else:
        env, cwd = {**os.environ, "PYTHONPATH": baseline}, baseline
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"the baseline run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--baseline", default="legacy", help="legacy (the old rules, here) or a checkout's path"
    )
    parser.add_argument("--embed", action="store_true", help="cluster tasks by embeddings")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--legacy", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_only:
        print(json.dumps(measure(args.embed, args.legacy)))
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
    print("\n## verdict figures (before -> after)\n")
    print(
        "| set | records with a quality finding | of them defects (verdict's quality share, "
        "after) | format-deviant share | seconds before/after |"
    )
    print("|---|---:|---:|---:|---:|")
    for name in ALL_SETS:
        b, a = before["sets"][name], after["sets"][name]
        print(
            f"| {name} | {b['quality_share']:.3f} -> {a['quality_share']:.3f} | "
            f"{a['defect_share']:.3f} | "
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
