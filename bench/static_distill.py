"""MRPC paraphrase F1 of static models distilled from MiniLM with model2vec's own knobs.

Each variant is one ``model2vec.distill.distill`` call on the local MiniLM (PCA dimensions, SIF
coefficient; int8 as shipped), scored beside the shipped ``minilm-static`` and MiniLM itself:
the best F1 of "cosine >= t means paraphrase" over t in 0.30..0.99 (``semantic_mrpc.sweep``), and the precision at the
shipped threshold 0.95. A variant's figure here is not a reason to ship it: it is tuned on the
benchmark that judges it (docs/benchmarks.md says what was concluded).

    .venv/bin/python bench/static_distill.py [--vocabulary-min-count 10] [--only-vocabulary]

``--vocabulary-min-count N`` adds one variant distilled with a vocabulary of whole words beside
the teacher's subwords (model2vec's ``vocabulary``): the words of at least two letters that
occur N times or more in the shipped instruction corpora of ../shared/data (alpaca, the
LLaMA-Factory demos, HH-RLHF, GSM8K, OASST, MT-Bench), MRPC itself left out.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from semantic_mrpc import load_mrpc, scores, sweep  # noqa: E402

VARIANTS = [
    {"pca_dims": 256, "sif_coefficient": 1e-3},
    {"pca_dims": 256, "sif_coefficient": 3e-3},
    {"pca_dims": 384, "sif_coefficient": 1e-3},
    {"pca_dims": 384, "sif_coefficient": 3e-3},
    {"pca_dims": 384, "sif_coefficient": 1e-2},
    {"pca_dims": 256, "sif_coefficient": None},
    {"pca_dims": None},
]


def row(name: str, sims: np.ndarray, labels: np.ndarray) -> str:
    """A table row: best F1 and its threshold, precision at 0.95."""
    t, (_, _, f1) = sweep(labels, lambda t: sims >= t, np.round(np.arange(0.30, 0.995, 0.01), 2))
    return f"| {name} | {f1:.4f} ({t:.2f}) | {scores(labels, sims, 0.95)[0]:.3f} |"


def cosines(vectors: np.ndarray, n: int) -> np.ndarray:
    """Cosine of row i with row n + i."""
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors[:n] * vectors[n:]).sum(1)


CORPORA = (
    "alpaca_random_9k.json",
    "alpaca_en_demo.json",
    "dpo_en_demo.json",
    "hh_rlhf_harmless_base_test.jsonl.gz",
    "gsm8k_example_model_solutions.jsonl",
    "oasst_en_100_tree.jsonl",
    "mt_bench_questions.jsonl",
)
"""The corpora a distillation vocabulary is counted from (never MRPC, the benchmark)."""


def vocabulary(min_count: int) -> list[str]:
    """Lower-cased words of two letters or more seen at least ``min_count`` times in
    ``CORPORA`` (the MiniLM tokenizer is uncased)."""
    data = ROOT.parent / "shared" / "data"
    counts: collections.Counter[str] = collections.Counter()
    for name in CORPORA:
        path = data / name
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            counts.update(re.findall(r"[a-z]{2,}", f.read().lower()))
    return [w for w, c in counts.items() if c >= min_count]


def main() -> None:
    """Distil each variant and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocabulary-min-count", type=int, default=None)
    parser.add_argument("--only-vocabulary", action="store_true", help="skip VARIANTS")
    args = parser.parse_args()
    from model2vec import StaticModel
    from model2vec.distill import distill

    from curate.models.embed import embed_texts
    from curate.models.env import minilm_folder, set_offline_defaults
    from curate.models.static import static_folder

    set_offline_defaults()
    frame = load_mrpc()
    labels, texts = frame["label"].to_numpy(), frame["a"].to_list() + frame["b"].to_list()
    n = len(frame)
    print("| model | best F1 (threshold) | precision at 0.95 |\n|---|---:|---:|")
    print(row("MiniLM", cosines(embed_texts(texts, model="minilm"), n), labels))
    shipped = StaticModel.from_pretrained(str(static_folder()))
    print(row("shipped minilm-static", cosines(shipped.encode(texts), n), labels))
    variants: list[dict] = [] if args.only_vocabulary else list(VARIANTS)
    if args.vocabulary_min_count is not None:
        words = vocabulary(args.vocabulary_min_count)
        variants.append({"pca_dims": 256, "vocabulary": words})
    for keywords in variants:
        start = time.perf_counter()
        model = distill(model_name=str(minilm_folder()), quantize_to="int8", **keywords)
        shown = {k: (f"{len(v):,} words" if k == "vocabulary" else v) for k, v in keywords.items()}
        name = f"{shown} ({time.perf_counter() - start:.0f} s)"
        print(row(name, cosines(model.encode(texts), n), labels), flush=True)


if __name__ == "__main__":
    main()
