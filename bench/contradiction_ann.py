"""Recall of the inverted-file index on the contradiction step's prompt pairs, against exact.

The contradiction step pairs prompts whose embeddings have cosine >= ``prompt_similarity``
(0.85), a lower threshold than semantic dedup's 0.95. Before its candidate search may go through
``curate.dedup.ann.ann_pairs`` above some size, that index's recall at 0.85 must be known. This
embeds each record's prompt (shipped static model) and prints exact pairs and time against the
index's pairs, recall, extra pairs and time, for each ``--neighbours``.

    OMP_NUM_THREADS=1 .venv/bin/python bench/contradiction_ann.py FILE [FILE ...] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    """For each file: exact pairs against the index's at each neighbour count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--limit", type=int, default=None, help="first N records of each file")
    parser.add_argument("--neighbours", default="32,64")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    from curate.audit.contradictions import ContradictionsConfig
    from curate.dedup.ann import ann_pairs
    from curate.dedup.pairs import similar_pairs
    from curate.io.read import read_dataset
    from curate.models.embed import embed_texts
    from curate.records import text_of

    threshold = ContradictionsConfig().prompt_similarity
    print(
        "| file | prompts | exact pairs | exact | neighbours | index pairs | recall | extra | index |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for path in args.files:
        records = read_dataset(path).records
        if args.limit:
            records = records.head(args.limit)
        vectors = embed_texts([text_of(p) for p in records["prompt"].to_list()])
        start = time.perf_counter()
        exact = set(
            zip(*(side.tolist() for side in similar_pairs(vectors, threshold)), strict=True)
        )
        exact_s = time.perf_counter() - start
        for k in (int(x) for x in args.neighbours.split(",")):
            start = time.perf_counter()
            left, right = ann_pairs(vectors, threshold, neighbours=k, threads=args.threads)
            index_s = time.perf_counter() - start
            found = set(zip(left.tolist(), right.tolist(), strict=True))
            recall = len(found & exact) / max(len(exact), 1)
            print(
                f"| {path.name} | {len(vectors):,} | {len(exact):,} | {exact_s:.1f} s | {k} | "
                f"{len(found):,} | {recall:.4f} | {len(found - exact):,} | {index_s:.1f} s |"
            )


if __name__ == "__main__":
    main()
