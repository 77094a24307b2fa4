"""Speed of the quality, PII and leakage checks on real Alpaca records, with baselines.

Run: ``.venv/bin/python bench/checks_speed.py [--copies 10]``

Training set: ../shared/data/alpaca_random_9k.json, repeated ``--copies`` times (ids made
distinct) so the scaling shows. Eval set: ../shared/data/alpaca_en_demo.json (999 prompts, ~190
shared with the training file). The leakage check is compared, in the same run, with the
straightforward way of doing the same thing: a Python set of 13-gram tuples per eval item and a
scan of every training text, and a ``datasketch`` loop (``MinHash`` per prompt, ``update`` per
shingle, ``MinHashLSH`` insert and query) for the near-duplicate prompts.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"


def _timed(label: str, n: int, fn) -> object:
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    print(f"  {label:<38} {seconds:8.2f} s  {n / seconds:>10,.0f} records/s")
    return out


def _baseline_ngrams(train: pl.DataFrame, evals: pl.DataFrame, n: int = 13) -> int:
    """Python sets of word 13-grams (eval side) and a scan of every training text."""
    from curate.records import text_of
    from curate.text.normalize import normalize_text

    index: dict[tuple[str, ...], str] = {}
    for row in evals.iter_rows(named=True):
        words = normalize_text(text_of(row["prompt"])).split()
        for i in range(len(words) - n + 1):
            index[tuple(words[i : i + n])] = row["id"]
    hits = 0
    for row in train.iter_rows(named=True):
        text = " ".join(text_of(row[c]) for c in ("prompt", "completion"))
        words = normalize_text(text).split()
        if any(tuple(words[i : i + n]) in index for i in range(len(words) - n + 1)):
            hits += 1
    return hits


def _baseline_near(train: pl.DataFrame, evals: pl.DataFrame, threshold: float = 0.7) -> int:
    """datasketch, straightforwardly: one MinHash per prompt, LSH insert (eval) and query."""
    from datasketch import MinHash, MinHashLSH

    from curate.records import text_of
    from curate.text.normalize import normalize_text

    def sketch(text: str) -> MinHash:
        m = MinHash(num_perm=128)
        for i in range(max(len(text) - 4, 1)):
            m.update(text[i : i + 5].encode("utf-8"))
        return m

    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    for row in evals.iter_rows(named=True):
        lsh.insert(row["id"], sketch(normalize_text(text_of(row["prompt"]))))
    return sum(
        1
        for row in train.iter_rows(named=True)
        if lsh.query(sketch(normalize_text(text_of(row["prompt"]))))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()

    import curate
    from curate.checks.leakage import LeakageCheck, LeakageConfig
    from curate.checks.pii import PIICheck, PIIConfig, redact_frame
    from curate.checks.quality import QualityCheck
    from curate.dedup.minhash import optimal_bands, permutations
    from curate.io.eval_items import load_eval_set

    # Warm up what every process pays once (datasketch and scipy imports), so it is not
    # charged to the first check that touches MinHash.
    optimal_bands(0.7, 128)
    permutations(128, 1)
    one = curate.read_dataset(DATA / "alpaca_random_9k.json").records
    evals = load_eval_set(DATA / "alpaca_en_demo.json")
    for copies in sorted({1, args.copies}):
        train = pl.concat([one.with_columns(pl.col("id") + f"-{k}") for k in range(copies)])
        n = len(train)
        print(f"{n:,} training records ({copies} x Alpaca 9k), {len(evals)} eval items")
        _timed("quality", n, lambda t=train: QualityCheck().run(t))
        _timed("pii (flag)", n, lambda t=train: PIICheck().run(t))
        _timed("pii redact_frame", n, lambda t=train: redact_frame(t, PIIConfig()))
        result = _timed(
            "leakage: 13-gram overlap",
            n,
            lambda t=train: LeakageCheck(evals, LeakageConfig(near=False)).run(t),
        )
        print(f"    flagged {result.figures['records_flagged']}")
        result = _timed(
            "leakage: 13-gram + near duplicates", n, lambda t=train: LeakageCheck(evals).run(t)
        )
        print(f"    flagged {result.figures['by_reason']}")
        if not args.no_baseline:
            hits = _timed(
                "baseline: 13-gram Python sets", n, lambda t=train: _baseline_ngrams(t, evals)
            )
            print(f"    flagged {hits}")
            hits = _timed(
                "baseline: datasketch MinHash loop", n, lambda t=train: _baseline_near(t, evals)
            )
            print(f"    flagged {hits}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
