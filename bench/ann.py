"""Nearest neighbours for semantic dedup: exact blocked search against usearch and faiss HNSW.

For each corpus (the records of alpaca_random_9k; a 200k-row corpus from ``bench/scale_corpus``),
embeds every record's text with the static model (cached in ``/tmp``), then times:

- ``exact``: ``curate.dedup.pairs.similar_pairs`` (blocked NumPy products, every pair);
- ``usearch`` and ``faiss``: an HNSW index over all vectors, each vector's ``k`` nearest
  neighbours, pairs at or above the threshold kept;

and prints each ANN path's recall of the exact pairs, whether two builds gave the same pairs
(determinism), and the crossover size where the ANN path starts to win.

With ``--semantic N`` it instead runs semantic dedup of N records of ``bench/scale_corpus``
end to end (texts in, duplicates out, nothing cached), each contender in its own process so
that its peak RSS is its own, side by side:

- ``tunesmith``: the ``semantic_dedup`` step with its defaults (static model, ANN path);
- ``semhash``: ``SemHash.from_records(texts, model=<the same static model>)`` then
  ``self_deduplicate(threshold)`` (its default usearch backend);
- ``minilm-brute``: MiniLM embeddings and every pair compared, *estimated*: MiniLM's rate on a
  sample of the texts times N, plus blocked exact search timed on a slice and scaled by n².

    OMP_NUM_THREADS=1 .venv/bin/python bench/ann.py [--big 200000] [--threshold 0.95]
    .venv/bin/python bench/ann.py --semantic 200000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def texts_of(rows: list[dict]) -> list[str]:
    """Each row's record text as semantic dedup embeds it (prompt, then answer)."""
    from curate.io.read import read_rows
    from curate.text.normalize import content_text

    records = read_rows(rows).records
    return records.select(content_text().alias("t"))["t"].to_list()


def vectors(name: str, rows_fn) -> np.ndarray:  # type: ignore[no-untyped-def]
    cache = Path(f"/tmp/ann_bench_{name}.npy")
    if cache.exists():
        return np.load(cache)
    from curate.models.embed import embed_texts

    start = time.perf_counter()
    v = embed_texts(texts_of(rows_fn()))
    print(f"  embedded {len(v)} texts in {time.perf_counter() - start:.1f}s")
    np.save(cache, v)
    return v


def pair_set(left: np.ndarray, right: np.ndarray) -> set[tuple[int, int]]:
    return set(zip(left.tolist(), right.tolist(), strict=True))


def timed(fn, *args, **kw):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - start


def usearch_pairs(v: np.ndarray, t: float, k: int, threads: int) -> tuple[np.ndarray, np.ndarray]:
    from usearch.index import Index

    index = Index(ndim=v.shape[1], metric="ip", dtype="f32", connectivity=16, expansion_add=128)
    index.add(np.arange(len(v)), v, threads=1)  # one thread: a deterministic graph
    index.expansion_search = max(64, 2 * k)  # type: ignore[misc]
    found = index.search(v, k, threads=threads)
    return _knn_to_pairs(found.keys.astype(np.int64), 1.0 - found.distances, t)


def faiss_pairs(v: np.ndarray, t: float, k: int, threads: int) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    faiss.omp_set_num_threads(1)  # one thread: a deterministic graph
    index = faiss.IndexHNSWFlat(v.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 128
    index.add(v)
    faiss.omp_set_num_threads(threads)
    index.hnsw.efSearch = max(64, 2 * k)
    sims, ids = index.search(v, k)
    return _knn_to_pairs(ids.astype(np.int64), sims, t)


def _knn_to_pairs(ids: np.ndarray, sims: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    rows = np.repeat(np.arange(len(ids)), ids.shape[1])
    cols, s = ids.ravel(), sims.ravel()
    keep = (s >= t) & (cols >= 0) & (cols != rows)
    a, b = rows[keep], cols[keep]
    pairs = np.unique(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]


def sampled_truth(v: np.ndarray, t: float, sample: int) -> tuple[np.ndarray, set]:
    """The exact pairs that involve ``sample`` random rows (their rows against every row)."""
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(len(v), size=min(sample, len(v)), replace=False))
    truth = set()
    for lo in range(0, len(rows), 1024):
        part = rows[lo : lo + 1024]
        r, c = np.nonzero(v[part] @ v.T >= t)
        a, b = part[r], c
        keep = a != b
        truth |= pair_set(np.minimum(a, b)[keep], np.maximum(a, b)[keep])
    return rows, truth


def compare(name: str, v: np.ndarray, t: float, k: int, threads: int, sample: int | None) -> None:
    """Exact against the ANN libraries: time, pairs, recall (all pairs, or those of a sample)."""
    from curate.dedup.ann import ann_pairs
    from curate.dedup.pairs import similar_pairs

    print(f"\n{name}: {len(v)} vectors of {v.shape[1]} dims, threshold {t}, k={k}")
    if sample is None:
        (el, er), secs = timed(similar_pairs, v, t)
        truth, rows = pair_set(el, er), None
        print(f"  exact (blocked numpy)     {secs:7.1f}s  {len(truth):>8} pairs")
    else:
        (rows, truth), secs = timed(sampled_truth, v, t, sample)
        print(f"  exact for {len(rows)} sampled rows {secs:6.1f}s  {len(truth):>8} pairs")
    for label, fn in (
        ("usearch", usearch_pairs),
        ("faiss", faiss_pairs),
        ("curate.dedup.ann", None),
    ):
        if fn is None:
            (al, ar), secs = timed(ann_pairs, v, t, threads=threads)
            again = pair_set(*ann_pairs(v, t, threads=threads))
        else:
            (al, ar), secs = timed(fn, v, t, k, threads)
            again = pair_set(*fn(v, t, k, threads))
        got = pair_set(al, ar)
        if rows is not None:
            inside = set(rows.tolist())
            got_cmp = {p for p in got if p[0] in inside or p[1] in inside}
        else:
            got_cmp = got
        recall = len(got_cmp & truth) / max(len(truth), 1)
        print(
            f"  {label:<25} {secs:7.1f}s  {len(got):>8} pairs  recall {recall:.4f}  "
            f"not-exact {len(got_cmp - truth)}  same on rebuild: {again == got}"
        )


def crossover(v: np.ndarray, t: float, sizes: list[int]) -> None:
    from curate.dedup.ann import ann_pairs
    from curate.dedup.pairs import similar_pairs

    print("\ncrossover: seconds for exact blocked search against the ANN path")
    print(f"{'n':>8} {'exact':>8} {'ann':>8}")
    for n in sizes:
        sub = v[:n]
        _, e = timed(similar_pairs, sub, t)
        _, a = timed(ann_pairs, sub, t)
        print(f"{n:>8} {e:8.2f} {a:8.2f}")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_semantic(method: str, n: int, threshold: float, sample: int) -> dict:
    """One contender's semantic dedup of ``n`` scale-corpus records, in this process."""
    import scale_corpus

    from curate.io.read import read_rows
    from curate.text.normalize import content_text

    records = read_rows(scale_corpus.build(n)).records
    texts = records.select(content_text().alias("t"))["t"].to_list()
    base_mb = _peak_mb()
    start = time.perf_counter()
    extra: dict[str, Any]
    result: Any
    if method == "tunesmith":
        from curate.dedup.semantic import SemanticConfig, SemanticDedup
        from curate.models.embed import Embedder

        cfg = SemanticConfig(threshold=threshold)
        step = SemanticDedup(cfg, embed=Embedder(cfg.model, None, max_tokens=cfg.max_tokens))
        result = step.run(records)
        secs = time.perf_counter() - start
        dups, extra = result.figures.duplicates, {"path": result.figures.path}
        # the raw encoder on the same texts, for the step's overhead
        from curate.models.embed import load_encoder

        enc = load_encoder(cfg.model)
        t0 = time.perf_counter()
        enc.encode(list(dict.fromkeys(texts)), cfg.batch_size, cfg.max_tokens)
        extra["raw_encoder_s"] = round(time.perf_counter() - t0, 1)
    elif method == "semhash":
        import semhash
        from model2vec import StaticModel

        from curate.models.static import static_folder

        model: Any = StaticModel.from_pretrained(static_folder())
        start = time.perf_counter()
        sh = semhash.SemHash.from_records(texts, model=model)
        result = sh.self_deduplicate(threshold=threshold)
        secs = time.perf_counter() - start
        dups, extra = len(result.filtered), {"version": version("semhash")}
    else:  # MiniLM brute force, estimated from a sample and a slice
        from curate.dedup.pairs import similar_pairs
        from curate.models.embed import load_encoder

        enc = load_encoder("minilm")
        part = texts[:: max(1, len(texts) // sample)][:sample]
        t0 = time.perf_counter()
        v = enc.encode(part, 64, 128)
        embed_s = (time.perf_counter() - t0) * len(texts) / len(part)
        m = min(len(texts), 20_000)
        rng = np.random.default_rng(0)
        block = rng.standard_normal((m, v.shape[1])).astype(np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        t0 = time.perf_counter()
        similar_pairs(block, threshold)
        search_s = (time.perf_counter() - t0) * (len(texts) / m) ** 2
        secs = embed_s + search_s
        dups = -1
        extra = {
            "estimated": True,
            "embed_s": round(embed_s, 1),
            "search_s": round(search_s, 1),
            "sample": len(part),
            "search_slice": m,
        }
    return {
        "method": method,
        "n": len(texts),
        "seconds": round(secs, 1),
        "peak_mb": round(_peak_mb()),
        "peak_mb_before": round(base_mb),
        "duplicates": dups,
        **extra,
    }


def semantic_side_by_side(n: int, threshold: float, sample: int) -> None:
    """Each contender in its own process, then one table."""
    print(f"semantic dedup of {n:,} scale-corpus records, threshold {threshold}, nothing cached")
    print("\n| method | seconds | peak RSS MB (process; before the step) | duplicates | notes |")
    print("|---|---:|---:|---:|---|")
    for method in ("tunesmith", "semhash", "minilm-brute"):
        cmd = [sys.executable, __file__, "--one", method, "--semantic", str(n)]
        cmd += ["--threshold", str(threshold), "--minilm-sample", str(sample)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode:
            print(f"| {method} | failed | | | {out.stderr.strip().splitlines()[-1][:120]} |")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        notes = {
            k: v
            for k, v in r.items()
            if k not in ("method", "n", "seconds", "peak_mb", "peak_mb_before", "duplicates")
        }
        dups = "n/a" if r["duplicates"] < 0 else f"{r['duplicates']:,}"
        print(
            f"| {method} | {r['seconds']} | {r['peak_mb']:,} ({r['peak_mb_before']:,}) | "
            f"{dups} | {json.dumps(notes)} |"
        )


def main() -> None:
    """Run the comparison and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=200_000)
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--sample",
        type=int,
        default=4000,
        help="rows whose exact pairs are "
        "computed on the big corpus (every pair of 200k takes hours here)",
    )
    parser.add_argument("--sizes", default="5000,10000,20000,40000")
    parser.add_argument("--semantic", type=int, default=None, help="records: end-to-end mode")
    parser.add_argument("--minilm-sample", type=int, default=2000)
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_semantic(args.one, args.semantic, args.threshold, args.minilm_sample)))
        return
    if args.semantic:
        semantic_side_by_side(args.semantic, args.threshold, args.minilm_sample)
        return

    import scale_corpus

    small = vectors("alpaca9k", lambda: json.loads((DATA / "alpaca_random_9k.json").read_text()))
    compare("alpaca_random_9k", small, args.threshold, args.k, args.threads, None)
    big = vectors(f"scale{args.big}", lambda: scale_corpus.build(args.big))
    crossover(big, args.threshold, [int(x) for x in args.sizes.split(",")])
    compare(f"scale_corpus {args.big}", big, args.threshold, args.k, args.threads, args.sample)


if __name__ == "__main__":
    main()
