"""Near-duplicate detection: tunesmith's engine against datasketch and rensa, side by side.

Builds a corpus from the real texts in ../shared/data with planted exact and edited copies
(``bench/corpus.py``), then runs each engine in its own process (so peak RSS is its own) on the
same normalised texts and prints records/s (wall clock, and per CPU-second: on a shared machine the wall clock
mostly measures the neighbours), peak RSS, and pairwise precision/recall/F1 of the
clusters against the planted truth, plus the recall of edited copies alone.

Engines:
  tunesmith        curate.dedup.near.NearDedup (vectorised datasketch MinHash, char 5-grams,
                   exact-Jaccard verification); ``tunesmith-word3`` / ``-word5`` shingle words
  ds-loop          datasketch, one MinHash() per record, update() per shingle, LSH insert/query
                   (run on the first --slow-limit records: it is slow)
  ds-batch         datasketch MinHash.bulk and an LSH insertion session (also --slow-limit)
  rensa            rensa RMinHash.from_token_sets, RMinHashLSH insert_many/query_all (a peer to
                   measure against: pip install rensa; bench extra only)
  pipeline         curate's exact + near steps through run_steps (the 1M-record target)
  semantic         curate.dedup.semantic.SemanticDedup, MiniLM at its default threshold (0.95;
                   --threshold is the Jaccard one and does not apply)

    .venv/bin/python bench/near_dup.py --n 200000
    .venv/bin/python bench/near_dup.py --n 1000000 --engines pipeline
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus import build, to_records

ENGINES = ["tunesmith", "tunesmith-word3", "tunesmith-word5", "ds-loop", "ds-batch", "rensa"]
NUM_PERM = 128


# -- engines (each returns one cluster label per record) -----------------------------------------


def _texts(corpus: pl.DataFrame) -> list[str]:
    from curate.dedup.near import near_texts

    return near_texts(to_records(corpus)).to_list()


def _char_shingles(text: str, n: int = 5) -> list[str]:
    from curate.dedup.minhash import shingles

    return list(set(shingles(text, "char", n)))


def _labels(n: int, pairs: list[tuple[int, int]]) -> np.ndarray:
    from curate.dedup.clusters import components

    if not pairs:
        return np.arange(n)
    left, right = np.array(pairs).T
    return components(n, left, right)


def tunesmith(
    corpus: pl.DataFrame, threshold: float, shingle: str = "char", n: int = 5
) -> np.ndarray:
    from curate.dedup.near import NearConfig, NearDedup

    records = to_records(corpus)
    extra = {"char_n": n} if shingle == "char" else {"word_n": n}
    step = NearDedup(NearConfig(threshold=threshold, shingle=shingle, **extra))
    found = step.run(records).findings
    return _labels_from_findings(records, found)


def _labels_from_findings(records: pl.DataFrame, found: pl.DataFrame) -> np.ndarray:
    """Each record's representative (itself when it has no duplicate finding), as a number."""
    rep = found.select(
        "record_id", pl.col("evidence").str.json_path_match("$.duplicate_of").alias("rep")
    )
    ids = records.select("id").join(rep, left_on="id", right_on="record_id", how="left")
    return ids.select(pl.coalesce("rep", "id"))["rep"].rank("dense").to_numpy()


def pipeline(corpus: pl.DataFrame, threshold: float) -> np.ndarray:
    from curate.dedup.exact import ExactDedup
    from curate.dedup.near import NearConfig, NearDedup
    from curate.pipeline.step import run_steps

    records = to_records(corpus)
    outcome = run_steps(records, [ExactDedup(), NearDedup(NearConfig(threshold=threshold))])
    drops = outcome.findings.filter(pl.col("severity") == "drop")
    rep = dict(
        zip(
            drops["record_id"].to_list(),
            drops["evidence"].str.json_path_match("$.duplicate_of").to_list(),
            strict=True,
        )
    )
    final = []
    for rid in records["id"].to_list():
        while rid in rep:  # an exact copy's representative may itself be a near duplicate
            rid = rep[rid]
        final.append(rid)
    return pl.Series(final).rank("dense").to_numpy()


def semantic(corpus: pl.DataFrame, threshold: float) -> np.ndarray:
    from curate.dedup.semantic import SemanticConfig, SemanticDedup

    records = to_records(corpus)
    found = SemanticDedup(SemanticConfig()).run(records).findings
    return _labels_from_findings(records, found)


def ds_loop(corpus: pl.DataFrame, threshold: float) -> np.ndarray:
    from datasketch import MinHash, MinHashLSH

    texts = _texts(corpus)
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    sketches = []
    for i, text in enumerate(texts):
        m = MinHash(num_perm=NUM_PERM)
        for s in _char_shingles(text):
            m.update(s.encode("utf-8"))
        lsh.insert(i, m)
        sketches.append(m)
    pairs = [(i, j) for i, m in enumerate(sketches) for j in lsh.query(m) if j != i]
    return _labels(len(texts), pairs)


def ds_batch(corpus: pl.DataFrame, threshold: float) -> np.ndarray:
    from datasketch import MinHash, MinHashLSH

    texts = _texts(corpus)
    sketches = MinHash.bulk(
        [[s.encode("utf-8") for s in _char_shingles(t)] for t in texts], num_perm=NUM_PERM
    )
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    with lsh.insertion_session() as session:
        for i, m in enumerate(sketches):
            session.insert(i, m)
    pairs = [(i, j) for i, m in enumerate(sketches) for j in lsh.query(m) if j != i]
    return _labels(len(texts), pairs)


def rensa(corpus: pl.DataFrame, threshold: float) -> np.ndarray:
    from rensa import RMinHash, RMinHashLSH

    texts = _texts(corpus)
    sketches = RMinHash.from_token_sets(
        [_char_shingles(t) for t in texts], num_perm=NUM_PERM, seed=42
    )
    # 16 bands of 8 rows: the S-curve's midpoint (1/16)^(1/8) = 0.71 matches a 0.7 threshold.
    lsh = RMinHashLSH(threshold=threshold, num_perm=NUM_PERM, num_bands=16)
    lsh.insert_many(sketches)
    pairs = [(i, j) for i, found in enumerate(lsh.query_all(sketches)) for j in found if j != i]
    return _labels(len(texts), pairs)


RUNNERS = {
    "tunesmith": lambda c, t: tunesmith(c, t),
    "tunesmith-word3": lambda c, t: tunesmith(c, t, "word", 3),
    "tunesmith-word5": lambda c, t: tunesmith(c, t, "word", 5),
    "ds-loop": ds_loop,
    "ds-batch": ds_batch,
    "rensa": rensa,
    "pipeline": pipeline,
    "semantic": semantic,
}


# -- scoring -------------------------------------------------------------------------------------


def _pairs(counts: pl.Series) -> int:
    c = counts.to_numpy().astype(np.int64)
    return int((c * (c - 1) // 2).sum())


def score(corpus: pl.DataFrame, labels: np.ndarray) -> dict[str, float]:
    """Pairwise precision/recall/F1 of predicted clusters against the planted sources, and the
    share of edited copies clustered with their original."""
    frame = corpus.select("source", "kind").with_columns(pl.Series("pred", labels))
    tp = _pairs(frame.group_by("pred", "source").len()["len"])
    predicted = _pairs(frame.group_by("pred").len()["len"])
    truth = _pairs(frame.group_by("source").len()["len"])
    precision = tp / predicted if predicted else 1.0
    recall = tp / truth if truth else 1.0
    originals = frame.filter(pl.col("kind") == "original").select(
        "source", pl.col("pred").alias("orig")
    )
    edited = frame.filter(pl.col("kind") == "edited").join(originals, on="source")
    return {
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "edited_recall": float((edited["pred"] == edited["orig"]).mean() or 0.0),
    }


# -- driver --------------------------------------------------------------------------------------


def child(engine: str, corpus_path: Path, limit: int | None, threshold: float) -> None:
    """Run one engine in this process and print its figures as JSON."""
    corpus = pl.read_parquet(corpus_path)
    if limit:
        corpus = corpus.head(limit)
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    labels = RUNNERS[engine](corpus, threshold)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    peak, base = after.ru_maxrss / 1024, before.ru_maxrss / 1024
    print(
        json.dumps(
            {
                "engine": engine,
                "records": len(corpus),
                "seconds": seconds,
                "records_per_s": len(corpus) / seconds,
                "cpu_s": cpu,
                "records_per_cpu_s": len(corpus) / cpu,
                "peak_rss_mb": peak,
                "base_rss_mb": base,
                **score(corpus, labels),
            }
        )
    )


def main() -> None:
    """Build the corpus, run every engine in a fresh process, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument(
        "--slow-limit",
        type=int,
        default=20_000,
        help="records given to ds-loop and ds-batch (too slow for the whole corpus)",
    )
    parser.add_argument("--threshold", type=float, default=0.7)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.corpus, args.limit, args.threshold)
        return

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus.parquet"
        build(args.n).write_parquet(path)
        print(
            f"corpus: {args.n:,} records (80% originals, 10% exact copies, 10% edited copies), "
            f"threshold {args.threshold}"
        )
        header = (
            f"{'engine':<16}{'records':>9}{'sec':>8}{'rec/s':>9}{'cpu s':>8}{'rec/cpu-s':>10}"
            f"{'peak MB':>9}{'prec':>7}{'recall':>7}{'F1':>7}{'edited':>7}"
        )
        print(header)
        for engine in args.engines.split(","):
            limit = args.slow_limit if engine in ("ds-loop", "ds-batch") else None
            cmd = [
                sys.executable,
                __file__,
                "--child",
                engine,
                "--corpus",
                str(path),
                "--threshold",
                str(args.threshold),
            ] + (["--limit", str(limit)] if limit else [])
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(f"{engine:<16} failed: {done.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"{engine:<16}{r['records']:>9,}{r['seconds']:>8.1f}{r['records_per_s']:>9,.0f}"
                f"{r['cpu_s']:>8.1f}{r['records_per_cpu_s']:>10,.0f}{r['peak_rss_mb']:>9,.0f}{r['precision']:>7.3f}{r['recall']:>7.3f}"
                f"{r['f1']:>7.3f}{r['edited_recall']:>7.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
