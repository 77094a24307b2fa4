"""Near duplicates: MinHash LSH over shingles of the whole record, clusters by union-find."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class NearConfig(BaseModel):
    """Near-duplicate detection (MinHash LSH)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    """Run the check."""
    threshold: float = Field(0.7, gt=0.0, lt=1.0)
    """Jaccard similarity of shingle sets at or above which two records are near duplicates."""
    num_perm: int = Field(128, ge=16, le=1024)
    """MinHash permutations; more is more accurate and slower. Bands and rows derive from it."""
    shingle: Literal["auto", "char", "word"] = "auto"
    """``char`` n-grams, ``word`` n-grams, or ``auto``: characters for records under
    ``auto_min_words`` words (short texts have too few word n-grams), words above."""
    char_n: int = Field(5, ge=2, le=16)
    """Character n-gram size."""
    word_n: int = Field(3, ge=1, le=16)
    """Word n-gram size."""
    auto_min_words: int = Field(400, ge=1)
    """In ``auto`` mode, records with at least this many words use word n-grams."""
    verify: Literal["exact", "signature", "none"] = "exact"
    """How LSH candidate pairs are confirmed: ``exact`` Jaccard of the shingle sets, the
    ``signature`` estimate, or ``none`` (every band collision counts)."""
    seed: int = 1
    """Seed of the permutations (datasketch's ``seed``)."""
