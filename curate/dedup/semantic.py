"""Semantic duplicates: records whose embeddings are nearly parallel (cosine similarity).

Each record's contents (prompt, then answers) are embedded by the run's shared embedder
(``curate.models.embed.Embedder``: the static model distilled from MiniLM by default, cached in
the store). Up to ``exhaustive_max`` records, every pair is compared exactly
(``curate.dedup.pairs``: blocked products, pruned by a bound that never misses a pair); above
it, an approximate nearest-neighbour index (``curate.dedup.ann``) finds the pairs in near-linear
time. Pairs above the threshold are closed into clusters by union-find, and each
cluster keeps one representative (``curate.dedup.clusters``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from curate.dedup.clusters import (
    choose_representatives,
    components,
    conflicting_pairs,
    duplicate_findings,
)
from curate.dedup.pairs import SearchPath, pairs_above, search_path
from curate.models.embed import DEFAULT_MODEL, Embedder
from curate.pipeline.step import StepResult
from curate.text.normalize import content_text

if TYPE_CHECKING:
    from curate.store.store import Store


class SemanticConfig(BaseModel):
    """Semantic-duplicate detection (sentence embeddings, cosine threshold)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    """Run the check (loads the embedding model; embeddings are cached in the store)."""
    model: str = DEFAULT_MODEL
    """Embedding model: ``minilm-static`` (static embeddings distilled from MiniLM, shipped,
    numpy only), ``minilm`` or a local sentence-transformers folder (the ``train`` extra; slower,
    stronger), or a local model2vec folder. Contradictions, diversity and format clustering embed
    with the same model."""
    threshold: float = Field(0.95, gt=0.0, le=1.0)
    """Cosine similarity at or above which two records are semantic duplicates. Calibrated on
    MRPC's human-labelled paraphrases for precision, because a duplicate is dropped: at 0.95 the
    static model's precision is 0.96 (recall 0.16), MiniLM's 0.94 (recall 0.16); at 0.90 the
    static model's precision falls to 0.89, on a set that is two-thirds paraphrases
    (docs/benchmarks.md). Lower it only with a stronger model, or to review rather than drop."""
    exhaustive_max: int = Field(50_000, ge=1)
    """Up to this many records every pair is compared exactly (blocked matrix products, upper
    triangle only); above it, an approximate nearest-neighbour index finds the pairs. Measured
    on scale-corpus records (static model, 256 dims, busy 2-core machine): exact 4.9 s against
    the HNSW path's 10.9 s at 20,000, 12.5 s against 22.7 s at 30,000, and the HNSW path took
    45 s at 50,000, where exact (growing with n squared) is about 30 s; so exact is faster and
    exact all the way here, and one block's product stays under 420 MB (bench/ann.py). The
    inverted file that replaced the HNSW path is about 3 times faster (at 200,000), so the
    crossover is now lower; below this size the result stays exact, only speed is at stake."""
    neighbours: int = Field(32, ge=2)
    """Neighbours each record asks the index for on the approximate path (asked again with
    twice as many while all of them pass the threshold)."""
    batch_size: int = Field(64, ge=1)
    """Texts per embedding batch (sentence-transformers models)."""
    max_tokens: int = Field(128, ge=8, le=512)
    """Tokens of each record embedded (prompt first); MiniLM was trained on 128."""


class SemanticFigures(BaseModel):
    """What semantic deduplication found, and how."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: float
    """The cosine threshold used."""
    model: str
    """The embedding model."""
    path: SearchPath
    """``exhaustive`` (every pair compared) or ``ann`` (pairs from a nearest-neighbour index)."""
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
        embed: Callable[[Sequence[str]], np.ndarray] | None = None,
    ) -> None:
        """The step, embedding with the run's shared embedder where one is given.

        Args:
            config: the check's settings.
            store: where embeddings are cached (when ``embed`` is None).
            progress: called with (texts embedded, texts to embed) (when ``embed`` is None).
            embed: the run's shared embedder (``build_steps`` passes one); None builds one from
                ``config`` and ``store``.
        """
        self.config = config or SemanticConfig()
        cfg = self.config
        self.embed = embed or Embedder(
            cfg.model,
            store,
            batch_size=cfg.batch_size,
            max_tokens=cfg.max_tokens,
            progress=progress,
        )

    def run(self, records: pl.DataFrame) -> StepResult[SemanticFigures]:
        """Embed each record (prompt then answer), pair those above the threshold, cluster."""
        cfg = self.config
        texts = records.select(content_text().alias("t"))["t"].to_list()
        vectors = self.embed(texts)
        left, right = self.pairs(vectors)
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
            path=search_path(len(texts), cfg.exhaustive_max),
            pairs=len(left),
            pairs_vetoed_conflicting_answers=int(vetoed.sum()),
            clusters=members["label"].n_unique(),
            duplicates=len(findings),
        )
        return StepResult(findings=findings, figures=figures)

    def pairs(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pairs ``i < j`` at or above the threshold: exact up to ``exhaustive_max`` vectors,
        through the nearest-neighbour index above it."""
        cfg = self.config
        return pairs_above(
            vectors, cfg.threshold, exhaustive_max=cfg.exhaustive_max, neighbours=cfg.neighbours
        )
