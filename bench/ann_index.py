"""The candidate index of semantic dedup's approximate path: HNSW graph against inverted files.

On the static-model vectors of ``bench/scale_corpus.build(N)`` (embedded once, cached in /tmp):
``curate.dedup.ann.ann_pairs`` as shipped, and faiss ``IndexIVFFlat`` with several cell counts
(``f·√n``) and probes, each built twice. Prints seconds, pairs, recall over the exact pairs of
2,000 sampled rows, pairs below the threshold (always 0: candidates are re-scored exactly) and
whether the rebuild gave the same pairs.

    .venv/bin/python bench/ann_index.py [--n 200000] [--threshold 0.95]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CONFIGS = [(1, 4), (1, 8), (2, 8), (2, 16)]
"""(cells per √n, cells probed)."""


def ivf_pairs(v: np.ndarray, t: float, cells: int, probes: int, k: int = 32):  # type: ignore[no-untyped-def]
    import faiss

    n, d = v.shape
    faiss.omp_set_num_threads(1)  # k-means on one thread, from a fixed seed and sample
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, cells, faiss.METRIC_INNER_PRODUCT)
    index.cp.spherical, index.cp.niter, index.cp.seed = True, 20, 1234
    rng = np.random.default_rng(1234)
    index.train(v[np.sort(rng.choice(n, size=min(n, 40 * cells), replace=False))])
    faiss.omp_set_num_threads(2)
    index.add(v)
    index.nprobe = probes
    lefts, rights, todo, kk = [], [], np.arange(n), min(k, n)
    while len(todo):
        sims, ids = index.search(v[todo], kk)
        rows, cols = np.repeat(todo, kk), ids.ravel().astype(np.int64)
        keep = (cols >= 0) & (cols != rows) & (sims.ravel() >= t - 1e-3)
        lefts.append(np.minimum(rows[keep], cols[keep]))
        rights.append(np.maximum(rows[keep], cols[keep]))
        if kk >= n:
            break
        todo, kk = todo[sims[:, -1] >= t - 1e-3], min(2 * kk, n)
    codes = np.unique(np.concatenate(lefts) * n + np.concatenate(rights))
    left, right = codes // n, codes % n
    sims = np.einsum("ij,ij->i", v[left], v[right])
    return left[sims >= t], right[sims >= t]


def main() -> None:
    import ann as bench_ann  # bench/ann.py: texts, sampled exact truth

    from curate.dedup.ann import ann_pairs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--threshold", type=float, default=0.95)
    args = parser.parse_args()
    t = args.threshold
    cache = Path(f"/tmp/ann_index_{args.n}.npy")
    if cache.exists():
        v = np.load(cache)
    else:
        import scale_corpus

        from curate.models.embed import embed_texts

        v = embed_texts(bench_ann.texts_of(scale_corpus.build(args.n)))
        np.save(cache, v)
    v = np.ascontiguousarray(v, dtype=np.float32)
    rows, truth = bench_ann.sampled_truth(v, t, 2000)
    inside = set(rows.tolist())
    print(f"{len(v)} vectors, threshold {t}: {len(truth)} exact pairs touch 2,000 sampled rows")

    def report(label: str, fn) -> None:  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        left, right = fn()
        secs = time.perf_counter() - start
        again = fn()
        got = {
            p
            for p in zip(left.tolist(), right.tolist(), strict=True)
            if p[0] in inside or p[1] in inside
        }
        same = np.array_equal(left, again[0]) and np.array_equal(right, again[1])
        print(
            f"{label:<34} {secs:7.1f} s {len(left):>9} pairs  recall "
            f"{len(got & truth) / max(len(truth), 1):.5f}  not exact {len(got - truth)}  "
            f"same on rebuild {same}",
            flush=True,
        )

    report("curate.dedup.ann (shipped)", lambda: ann_pairs(v, t, threads=2))
    for per_root, probes in CONFIGS:
        cells = round(per_root * np.sqrt(len(v)))
        report(
            f"IVF {cells} cells, {probes} probed", lambda c=cells, p=probes: ivf_pairs(v, t, c, p)
        )


if __name__ == "__main__":
    main()
