"""Semantic duplicates: records whose embeddings are nearly parallel (cosine similarity).

Each record's contents (prompt, then answers) are embedded by ``curate.models.embed`` (MiniLM by
default, cached in the store). Up to ``exhaustive_max`` records, every pair is compared by blocked
matrix products; above it, SemDeDup's recipe keeps the cost near-linear: k-means groups the
vectors, and pairs are compared only within a group. Pairs above the threshold are closed into
clusters by union-find, and each cluster keeps one representative (``curate.dedup.clusters``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from curate.dedup.clusters import (
    choose_representatives,
    components,
    conflicting_pairs,
    duplicate_findings,
)
from curate.models.embed import embed_texts
from curate.pipeline.step import StepResult
from curate.text.normalize import content_text

if TYPE_CHECKING:
    from curate.store.store import Store


class SemanticConfig(BaseModel):
    """Semantic-duplicate detection (sentence embeddings, cosine threshold)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    """Run the check (loads the embedding model; embeddings are cached in the store)."""
    model: str = "minilm"
    """Embedding model: an alias (``minilm``) or a local sentence-transformers folder."""
    threshold: float = Field(0.95, gt=0.0, le=1.0)
    """Cosine similarity at or above which two records are semantic duplicates. Calibrated on
    MRPC's human-labelled paraphrases for precision, because a duplicate is dropped: at 0.95
    MiniLM's precision is 0.94 (recall 0.16); near the best-F1 point (0.63) precision is only
    0.71-0.73, on a set that is two-thirds paraphrases (docs/benchmarks.md)."""
    exhaustive_max: int = Field(20_000, ge=1)
    """Up to this many records every pair is compared (blocked matrix products); above it,
    records are grouped by k-means first and compared within groups (SemDeDup)."""
    cluster_size: int = Field(1_000, ge=10)
    """Target records per k-means group in the large-set path."""
    batch_size: int = Field(64, ge=1)
    """Texts per embedding batch."""
    max_tokens: int = Field(128, ge=8, le=512)
    """Tokens of each record embedded (prompt first); the model was trained on 128."""


class SemanticFigures(BaseModel):
    """What semantic deduplication found, and how."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: float
    """The cosine threshold used."""
    model: str
    """The embedding model."""
    path: Literal["exhaustive", "kmeans"]
    """``exhaustive`` (every pair compared) or ``kmeans`` (pairs within k-means groups)."""
    groups: int
    """k-means groups (1 on the exhaustive path)."""
    pairs: int
    """Pairs at or over the threshold, after the veto below."""
    pairs_vetoed_conflicting_answers: int
    """Pairs over the threshold left apart because their final answers conflict."""
    clusters: int
    """Clusters of two or more records."""
    duplicates: int
    """Records that are not their cluster's representative (``semantic_duplicate`` findings)."""


class SemanticDedup:
    """Clusters of records whose embeddings have cosine similarity above the threshold."""

    name = "semantic_dedup"

    def __init__(
        self,
        config: SemanticConfig | None = None,
        *,
        store: Store | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.config = config or SemanticConfig()
        self.store = store
        self.progress = progress

    def run(self, records: pl.DataFrame) -> StepResult[SemanticFigures]:
        """Embed each record (prompt then answer), pair those above the threshold, cluster."""
        cfg = self.config
        texts = records.select(content_text().alias("t"))["t"].to_list()
        vectors = embed_texts(
            texts,
            cfg.model,
            self.store,
            batch_size=cfg.batch_size,
            max_tokens=cfg.max_tokens,
            progress=self.progress,
        )
        if len(texts) <= cfg.exhaustive_max:
            left, right = similar_pairs(vectors, cfg.threshold)
            groups = 1
        else:
            left, right, groups = self._clustered_pairs(vectors)
        vetoed = conflicting_pairs(records, left, right)
        left, right = left[~vetoed], right[~vetoed]
        labels = components(len(texts), left, right)
        members = choose_representatives(records, labels)
        idx, rep = members["idx"].to_numpy(), members["rep_idx"].to_numpy()
        cosine = np.einsum("ij,ij->i", vectors[idx], vectors[rep]) if len(idx) else np.zeros(0)
        findings = duplicate_findings(
            members.with_columns(pl.Series("cosine", cosine.astype(np.float64))),
            check=self.name,
            reason="semantic_duplicate",
            severity="drop",
            cluster_ids=pl.lit("semantic:") + pl.col("rep_id"),
            similarity=pl.col("cosine"),
            extra={"threshold": cfg.threshold, "model": cfg.model},
        )
        figures = SemanticFigures(
            threshold=cfg.threshold,
            model=cfg.model,
            path="exhaustive" if groups == 1 else "kmeans",
            groups=groups,
            pairs=len(left),
            pairs_vetoed_conflicting_answers=int(vetoed.sum()),
            clusters=members["label"].n_unique(),
            duplicates=len(findings),
        )
        return StepResult(findings=findings, figures=figures)

    def _clustered_pairs(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """SemDeDup: k-means on the unit vectors, then every pair within each group."""
        from sklearn.cluster import MiniBatchKMeans

        k = max(2, int(np.ceil(len(vectors) / self.config.cluster_size)))
        kmeans = MiniBatchKMeans(n_clusters=k, random_state=0, n_init=3, batch_size=4096)
        assignment = kmeans.fit_predict(vectors)
        lefts, rights = [], []
        for group in range(k):
            members = np.flatnonzero(assignment == group)
            if len(members) < 2:
                continue
            li, ri = similar_pairs(vectors[members], self.config.threshold)
            lefts.append(members[li])
            rights.append(members[ri])
        if not lefts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, k
        return np.concatenate(lefts), np.concatenate(rights), k


def similar_pairs(
    vectors: np.ndarray, threshold: float, block: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """All pairs ``i < j`` with ``vectors[i] . vectors[j] >= threshold``, by blocked products.

    Memory is ``block x n`` floats at a time, never ``n x n``.
    """
    lefts, rights = [], []
    for lo in range(0, len(vectors), block):
        sims = vectors[lo : lo + block] @ vectors.T
        rows, cols = np.nonzero(sims >= threshold)
        rows = rows + lo
        keep = cols > rows
        lefts.append(rows[keep])
        rights.append(cols[keep])
    if not lefts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    return np.concatenate(lefts).astype(np.int64), np.concatenate(rights).astype(np.int64)
