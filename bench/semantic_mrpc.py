"""Calibrate the semantic-duplicate cosine threshold on MRPC (human-labelled paraphrase pairs).

Embeds both sentences of every pair with ``curate.embed_texts`` (MiniLM by default), then prints
precision, recall and F1 of "cosine >= t means paraphrase" for a range of thresholds, the best-F1
threshold, and the lowest threshold reaching the target precision.

    .venv/bin/python bench/semantic_mrpc.py [--model minilm] [--limit N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import polars as pl

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mrpc_train.tsv"


def load_mrpc(path: Path = DATA) -> pl.DataFrame:
    """MRPC pairs: ``label`` (1 = paraphrase), ``a``, ``b``. Quoting off: some lines hold stray
    quotes that a CSV parser would treat as field delimiters."""
    frame = pl.read_csv(path, separator="\t", quote_char=None, encoding="utf8-lossy")
    frame = frame.rename({c: c.lstrip("\ufeff") for c in frame.columns})
    return frame.select(
        pl.col("Quality").cast(pl.Int64).alias("label"),
        pl.col("#1 String").alias("a"),
        pl.col("#2 String").alias("b"),
    ).drop_nulls()


def scores(labels: np.ndarray, sims: np.ndarray, t: float) -> tuple[float, float, float]:
    """Precision, recall and F1 of ``sims >= t`` against ``labels``."""
    pred = sims >= t
    tp = int((pred & (labels == 1)).sum())
    precision = tp / max(int(pred.sum()), 1)
    recall = tp / max(int((labels == 1).sum()), 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return precision, recall, f1


def main() -> None:
    """Run the calibration and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--target-precision", type=float, default=0.9)
    args = parser.parse_args()

    from curate.models.embed import embed_texts

    pairs = load_mrpc()
    if args.limit:
        pairs = pairs.head(args.limit)
    start = time.perf_counter()
    a = embed_texts(pairs["a"].to_list(), args.model)
    b = embed_texts(pairs["b"].to_list(), args.model)
    elapsed = time.perf_counter() - start
    sims = np.einsum("ij,ij->i", a, b)
    labels = pairs["label"].to_numpy()
    print(
        f"MRPC train: {len(pairs)} pairs, {int(labels.sum())} paraphrases; "
        f"embedded in {elapsed:.1f}s with {args.model}"
    )
    print(f"{'threshold':>9} {'precision':>9} {'recall':>7} {'f1':>6}")
    best = (0.0, 0.0)
    target = None
    for t in np.round(np.arange(0.50, 0.99, 0.01), 2):
        p, r, f = scores(labels, sims, float(t))
        if f > best[1]:
            best = (float(t), f)
        if target is None and p >= args.target_precision:
            target = (float(t), p, r)
        if round(t * 100) % 5 == 0 or t >= 0.85:
            print(f"{t:9.2f} {p:9.3f} {r:7.3f} {f:6.3f}")
    print(f"best F1 {best[1]:.3f} at threshold {best[0]:.2f}")
    if target:
        print(
            f"first threshold with precision >= {args.target_precision}: {target[0]:.2f} "
            f"(precision {target[1]:.3f}, recall {target[2]:.3f})"
        )


if __name__ == "__main__":
    main()
