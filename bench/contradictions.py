"""Contradiction recall and precision on GSM8K right/wrong solution pairs.

``../shared/data/gsm8k_example_model_solutions.jsonl`` holds 1,319 grade-school math questions,
each answered by four models with an ``is_correct`` label. Every solution becomes a record
(prompt = the question, completion = the solution) and the contradiction step runs over them
all, so the candidate pairs come from the step itself (same normalised prompt). Ground truth:

- a right and a wrong solution of one question contradict (positive);
- two right solutions do not (negative);
- two wrong ones are left out (they may or may not agree with each other).

A second pass strips the final ``A: <n>`` line from every solution, to show how much the
classifier relies on an explicit answer marker. Run: ``.venv/bin/python bench/contradictions.py``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import time
from pathlib import Path

from curate.audit.contradictions import Contradictions, ContradictionsConfig
from curate.records import Message, Record, Source, to_frame

DATA = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "gsm8k_example_model_solutions.jsonl"
)
MODELS = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")


def load(path: Path, strip_marker: bool):
    rows = [json.loads(line) for line in path.open()]
    records, labels = [], {}
    for q, row in enumerate(rows):
        for m in MODELS:
            text = row[m]["solution"]
            if strip_marker:
                text = re.sub(r"\n?A:\s*\S+\s*$", "", text)
            rid = f"{q:05d}{MODELS.index(m):03d}".ljust(16, "0")
            records.append(
                Record(
                    id=rid,
                    kind="sft",
                    prompt=[Message(role="user", content=row["question"])],
                    completion=[Message(role="assistant", content=text)],
                    source=Source(file="gsm8k", row=len(records)),
                )
            )
            labels[rid] = (q, row[m]["is_correct"])
    return to_frame(records), labels


def score(frame, labels) -> dict:
    cfg = ContradictionsConfig(semantic=False, max_group=8, max_pairs_reported=10**7)
    start = time.perf_counter()
    figures = Contradictions(cfg).run(frame).figures
    seconds = time.perf_counter() - start
    flagged = {tuple(sorted((p["a"]["id"], p["b"]["id"]))): p["kind"] for p in figures["pairs"]}
    ids_by_q: dict[int, list[str]] = {}
    for rid, (q, _) in labels.items():
        ids_by_q.setdefault(q, []).append(rid)
    tp = fp = fn = tn = divergent = 0
    for ids in ids_by_q.values():
        for a, b in itertools.combinations(sorted(ids), 2):
            ra, rb = labels[a][1], labels[b][1]
            if not (ra or rb):
                continue
            kind = flagged.get((a, b))
            predicted = kind is not None and kind != "divergent"
            divergent += kind == "divergent"
            truth = ra != rb
            tp += truth and predicted
            fp += predicted and not truth
            fn += truth and not predicted
            tn += not truth and not predicted
    return {
        "records": len(frame),
        "positives": tp + fn,
        "negatives": fp + tn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "divergent_left_for_judge": divergent,
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "recall": round(tp / (tp + fn), 4) if tp + fn else None,
        "records_per_s": round(len(frame) / seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    for strip in (False, True):
        frame, labels = load(args.data, strip)
        result = score(frame, labels)
        print(("answer line stripped: " if strip else "as published:        ") + json.dumps(result))


if __name__ == "__main__":
    main()
