"""MRPC paraphrase F1 of static models distilled from MiniLM with model2vec's own knobs.

Each variant is one ``model2vec.distill.distill`` call on the local MiniLM (PCA dimensions, SIF
coefficient; int8 as shipped), scored beside the shipped ``minilm-static`` and MiniLM itself:
the best F1 of "cosine >= t means paraphrase" over t in 0.30..0.99 (``semantic_mrpc.sweep``), and the precision at the
shipped threshold 0.95. A variant's figure here is not a reason to ship it: it is tuned on the
benchmark that judges it (docs/benchmarks.md says what was concluded).

    .venv/bin/python bench/static_distill.py
"""

from __future__ import annotations

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


def main() -> None:
    """Distil each variant and print the table."""
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
    for keywords in VARIANTS:
        start = time.perf_counter()
        model = distill(model_name=str(minilm_folder()), quantize_to="int8", **keywords)
        name = f"{keywords} ({time.perf_counter() - start:.0f} s)"
        print(row(name, cosines(model.encode(texts), n), labels), flush=True)


if __name__ == "__main__":
    main()
