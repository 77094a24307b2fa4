"""Semantic duplicates: records whose embeddings are nearly parallel (cosine similarity)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SemanticConfig(BaseModel):
    """Semantic-duplicate detection (sentence embeddings, cosine threshold)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    """Run the check (loads the embedding model; embeddings are cached in the store)."""
    model: str = "minilm"
    """Embedding model: an alias (``minilm``) or a local sentence-transformers folder."""
    threshold: float = Field(0.95, gt=0.0, le=1.0)
    """Cosine similarity at or above which two records are semantic duplicates; calibrated on
    MRPC for high precision (docs/benchmarks.md)."""
    exhaustive_max: int = Field(20_000, ge=1)
    """Up to this many records every pair is compared (blocked matrix products); above it,
    records are grouped by k-means first and compared within groups (SemDeDup)."""
    cluster_size: int = Field(1_000, ge=10)
    """Target records per k-means group in the large-set path."""
    batch_size: int = Field(64, ge=1)
    """Texts per embedding batch."""
