"""Calibrate the semantic-duplicate cosine threshold on MRPC (human-labelled paraphrase pairs).

Embeds both sentences of every pair with ``curate.embed_texts`` (the shipped static model and
MiniLM), prints precision, recall and F1 of "cosine >= t means paraphrase" for a range of
thresholds and the lowest threshold reaching the target precision; then, side by side, F1 at the
shipped default threshold and at each method's best threshold (a grid of 0.01, and exactly: every
distinct score tried, with a paired bootstrap interval for the difference of the first two
models' best F1), for both cosines and for SemHash
(``semhash`` from PyPI, given the same static model: each second sentence deduplicated against
an index of the first sentences; a pair is called a paraphrase when SemHash matches it to its
own partner).

    .venv/bin/python bench/semantic_mrpc.py [--models minilm-static,minilm] [--limit N]
        [--no-semhash] [--bootstrap 2000]
"""

from __future__ import annotations

import argparse
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

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


def semhash_predictions(a: list[str], b: list[str], t: float, sh) -> np.ndarray:  # type: ignore[no-untyped-def]
    """SemHash's own decision: ``b[i]`` deduplicated against an index of every ``a`` is a
    duplicate whose match is its own pair's ``a[i]``."""
    result = sh.deduplicate(b, threshold=t)
    match = {d.record: d.duplicate_of for d in result.filtered}
    return np.array([match.get(y) == x for x, y in zip(a, b, strict=True)])


def sweep(labels: np.ndarray, predict, grid) -> tuple[float, tuple[float, float, float]]:  # type: ignore[no-untyped-def]
    """The best-F1 threshold of ``grid`` and its (precision, recall, F1)."""
    best = (0.0, (0.0, 0.0, 0.0))
    for t in grid:
        pred = predict(float(t))
        tp = int((pred & (labels == 1)).sum())
        p = tp / max(int(pred.sum()), 1)
        r = tp / max(int((labels == 1).sum()), 1)
        f = 2 * p * r / max(p + r, 1e-12)
        if f > best[1][2]:
            best = (float(t), (p, r, f))
    return best


def exact_best(labels: np.ndarray, sims: np.ndarray) -> tuple[float, float]:
    """The best F1 over every threshold (each distinct score tried), and that threshold."""
    order = np.argsort(-sims, kind="stable")
    ranked, truth = sims[order], labels[order] == 1
    tp = np.cumsum(truth)
    precision = tp / np.arange(1, len(ranked) + 1)
    recall = tp / max(int(truth.sum()), 1)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    f1[:-1][ranked[1:] == ranked[:-1]] = -1.0  # a cut inside a run of tied scores is no threshold
    best = int(np.argmax(f1))
    return float(f1[best]), float(ranked[best])


def bootstrap_difference(
    labels: np.ndarray, first: np.ndarray, second: np.ndarray, resamples: int, seed: int = 0
) -> tuple[float, float, float]:
    """Paired bootstrap of ``best F1(first) - best F1(second)``, each threshold chosen again in
    every resample: the 2.5% and 97.5% points and the share of resamples where it is >= 0."""
    rng = np.random.default_rng(seed)
    diffs = np.empty(resamples)
    for k in range(resamples):
        pick = rng.integers(0, len(labels), len(labels))
        diffs[k] = (
            exact_best(labels[pick], first[pick])[0] - exact_best(labels[pick], second[pick])[0]
        )
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float(low), float(high), float((diffs >= 0).mean())


def main() -> None:
    """Run the calibration and the side-by-side comparison, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="minilm-static,minilm")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--target-precision", type=float, default=0.9)
    parser.add_argument("--no-semhash", action="store_true")
    parser.add_argument("--bootstrap", type=int, default=2000, help="resamples (0: none)")
    args = parser.parse_args()

    from curate.dedup.semantic import SemanticConfig
    from curate.models.embed import embed_texts

    shipped = SemanticConfig().threshold
    pairs = load_mrpc()
    if args.limit:
        pairs = pairs.head(args.limit)
    labels = pairs["label"].to_numpy()
    a_texts, b_texts = pairs["a"].to_list(), pairs["b"].to_list()
    print(
        f"MRPC train: {len(pairs)} pairs, {int(labels.sum())} paraphrases "
        f"(all-positive F1 {2 * labels.mean() / (1 + labels.mean()):.3f})"
    )
    grid = np.round(np.arange(0.30, 0.995, 0.01), 2)
    rows, exact = [], {}
    for model in args.models.split(","):
        start = time.perf_counter()
        a = embed_texts(a_texts, model)
        b = embed_texts(b_texts, model)
        elapsed = time.perf_counter() - start
        sims = np.einsum("ij,ij->i", a, b)
        print(f"\n{model}: embedded in {elapsed:.1f}s")
        print(f"{'threshold':>9} {'precision':>9} {'recall':>7} {'f1':>6}")
        target = None
        for t in grid:
            p, r, f = scores(labels, sims, float(t))
            if target is None and p >= args.target_precision:
                target = (float(t), p, r)
            if round(t * 100) % 5 == 0:
                print(f"{t:9.2f} {p:9.3f} {r:7.3f} {f:6.3f}")
        exact[model] = (sims, *exact_best(labels, sims))
        t_best, best = sweep(labels, lambda t, s=sims: s >= t, grid)
        rows.append((f"cosine, {model}", shipped, scores(labels, sims, shipped), t_best, best))
        if target:
            print(
                f"first threshold with precision >= {args.target_precision}: {target[0]:.2f} "
                f"(precision {target[1]:.3f}, recall {target[2]:.3f})"
            )
    print("\nbest F1 with every distinct score tried as the threshold:")
    for model, (_, f1, t) in exact.items():
        print(f"  {model}: {f1:.4f} at {t:.3f}")
    if len(exact) >= 2 and args.bootstrap:
        (a_name, (a_sims, a_f1, _)), (b_name, (b_sims, b_f1, _)) = list(exact.items())[:2]
        low, high, share = bootstrap_difference(labels, a_sims, b_sims, args.bootstrap)
        print(
            f"  {a_name} - {b_name}: {a_f1 - b_f1:+.4f}, paired bootstrap 95% interval "
            f"[{low:+.4f}, {high:+.4f}] ({args.bootstrap} resamples); "
            f"{a_name} >= {b_name} in {share:.1%} of them"
        )
    if not args.no_semhash:
        import semhash
        from model2vec import StaticModel

        from curate.models.static import static_folder

        static: Any = StaticModel.from_pretrained(static_folder())
        sh = semhash.SemHash.from_records(a_texts, model=static)
        coarse = np.round(np.arange(0.30, 0.995, 0.05), 2)
        t0, _ = sweep(labels, lambda t: semhash_predictions(a_texts, b_texts, t, sh), coarse)
        fine = np.round(np.arange(max(0.3, t0 - 0.04), min(0.99, t0 + 0.045), 0.01), 2)
        t_best, best = sweep(labels, lambda t: semhash_predictions(a_texts, b_texts, t, sh), fine)
        at_shipped = semhash_predictions(a_texts, b_texts, shipped, sh)
        tp = int((at_shipped & (labels == 1)).sum())
        p = tp / max(int(at_shipped.sum()), 1)
        r = tp / max(int((labels == 1).sum()), 1)
        name = f"SemHash {version('semhash')} (deduplicate, minilm-static)"
        rows.append((name, shipped, (p, r, 2 * p * r / max(p + r, 1e-12)), t_best, best))
    print("\n| method | F1 at shipped 0.95 (P / R) | best threshold | best F1 (P / R) |")
    print("|---|---:|---:|---:|")
    for name, t, (p, r, f), tb, (bp, br, bf) in rows:
        print(
            f"| {name} | {f:.3f} ({p:.3f} / {r:.3f}) at {t:.2f} | {tb:.2f} | "
            f"{bf:.3f} ({bp:.3f} / {br:.3f}) |"
        )


if __name__ == "__main__":
    main()
