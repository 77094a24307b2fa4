"""Exact pair search: the bound-pruned ``similar_pairs`` against plain blocked full products.

Embeds the records of a dataset (default ../shared/data/alpaca_random_9k.json) with the shipped
static model, then for each threshold times both searches (alternating, best of ``--repeats``)
and checks that they return the same pairs in the same order. The baseline is the search as it
was before the bound: every block's full products, upper triangle only.

    OMP_NUM_THREADS=2 .venv/bin/python bench/pair_search.py [--data FILE] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "alpaca_random_9k.json"


def full_products(vectors: np.ndarray, threshold: float, block: int = 2048):  # type: ignore[no-untyped-def]
    """The baseline: pairs ``i < j`` at or above ``threshold`` from every block's full products."""
    lefts, rights = [], []
    for lo in range(0, len(vectors), block):
        sims = vectors[lo : lo + block] @ vectors[lo:].T
        rows, cols = np.divmod(np.flatnonzero(sims >= threshold), sims.shape[1])
        rows, cols = rows + lo, cols + lo
        keep = cols > rows
        lefts.append(rows[keep])
        rights.append(cols[keep])
    return np.concatenate(lefts), np.concatenate(rights)


def main() -> None:
    """Embed, time both searches at each threshold, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--thresholds", default="0.95,0.9,0.85,0.7,0.5")
    args = parser.parse_args()

    from curate.dedup import pairs
    from curate.io.read import read_dataset
    from curate.models.embed import embed_texts
    from curate.text.normalize import content_text

    records = read_dataset(args.data).records
    texts = list(dict.fromkeys(records.select(content_text().alias("t"))["t"].to_list()))
    vectors = embed_texts(texts)
    n = len(vectors)
    print(f"{n:,} distinct texts of {args.data.name}, {vectors.shape[1]} dimensions\n")
    print("| threshold | pairs | through the bound | full products | bound-pruned | same pairs |")
    print("|---:|---:|---:|---:|---:|---|")
    bounds = pairs._bounds(vectors)
    for threshold in (float(t) for t in args.thresholds.split(",")):
        base, pruned = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            want = full_products(vectors, threshold)
            base.append(time.perf_counter() - start)
            start = time.perf_counter()
            got = pairs.similar_pairs(vectors, threshold)
            pruned.append(time.perf_counter() - start)
        same = all(np.array_equal(a, b) for a, b in zip(want, got, strict=True))
        passed = sum(
            int(np.count_nonzero(np.triu(bounds[lo : lo + 512] @ bounds[lo:].T >= threshold, 1)))
            for lo in range(0, n, 512)
        )
        print(
            f"| {threshold:.2f} | {len(got[0]):,} | {passed:,} of {n * (n - 1) // 2:,} | "
            f"{min(base):.3f} s | {min(pruned):.3f} s | {'yes' if same else 'NO'} |"
        )


if __name__ == "__main__":
    main()
