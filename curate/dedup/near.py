"""Near duplicates: MinHash LSH over shingles of the whole normalised record, union-find clusters.

Signatures come from ``curate.dedup.minhash`` (exactly datasketch's MinHash, vectorised); bands and rows
are datasketch's optimum for the threshold; candidate pairs from band collisions are confirmed by
the exact Jaccard of their shingle sets (or the signature estimate) before they join a cluster.
Each cluster keeps one representative (``curate.dedup.clusters``); the others get a ``near_duplicate``
finding with the representative's id and their Jaccard similarity to it.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from curate.dedup.clusters import (
    choose_representatives,
    components,
    conflicting_pairs,
    duplicate_findings,
    kept_apart,
)
from curate.dedup.minhash import (
    distinct_hashes,
    estimated_jaccard,
    lsh_pairs,
    optimal_bands,
    set_jaccard,
    shingle_hashes,
    signatures,
)
from curate.pipeline.step import StepResult
from curate.text.normalize import content_text, normalize_expr


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
    answer_threshold: float = Field(0.5, ge=0.0, le=1.0)
    """A candidate pair whose answers alone have a lower Jaccard similarity is not a duplicate:
    the same question with a different answer is the contradiction check's material. Applied
    when ``verify`` is not ``none``."""
    verify: Literal["exact", "signature", "none"] = "exact"
    """How LSH candidate pairs are confirmed: ``exact`` Jaccard of the shingle sets, the
    ``signature`` estimate, or ``none`` (every band collision counts)."""
    seed: int = 1
    """Seed of the permutations (datasketch's ``seed``)."""


class ShingleKinds(BaseModel):
    """Records shingled by each kind of n-gram."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    char: int
    """Records shingled by character n-grams."""
    word: int
    """Records shingled by word n-grams."""


class NearFigures(BaseModel):
    """What near-duplicate detection found, and the LSH parameters it used."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: float
    """The Jaccard threshold used."""
    num_perm: int
    """MinHash permutations used."""
    bands: int
    """LSH bands."""
    rows: int
    """Rows per band (``bands * rows <= num_perm``)."""
    shingles: ShingleKinds
    """Records shingled by characters and by words."""
    candidate_pairs: int
    """Pairs that collided in some band."""
    verified_pairs: int
    """Candidate pairs confirmed as duplicates (similar texts and alike answers)."""
    clusters: int
    """Clusters of two or more records."""
    duplicates: int
    """Records that are not their cluster's representative."""


class NearDedup:
    """Clusters of records whose shingle sets overlap (Jaccard) above the threshold."""

    name = "near_dedup"

    def __init__(self, config: NearConfig | None = None, *, workers: int | None = None) -> None:
        self.config = config or NearConfig()
        self.workers = workers or min(2, os.cpu_count() or 1)

    def run(self, records: pl.DataFrame) -> StepResult[NearFigures]:
        """Find near-duplicate clusters; every member but the representative gets a finding."""
        cfg = self.config
        bands, rows = lsh_bands(cfg)
        texts = near_texts(records)
        sigs, has, kinds = self.sign(texts)
        usable = np.flatnonzero(has)
        left, right = lsh_pairs(sigs[usable], bands, rows)
        left, right = usable[left], usable[right]
        candidates = len(left)
        left, right, sim = self._verify(texts, kinds, sigs, left, right)
        keep = self.answers_agree(records, kinds, left, right)
        left, right, sim = left[keep], right[keep], sim[keep]
        labels = components(len(texts), left, right)
        members = choose_representatives(records, labels)
        similarity = self._to_representative(texts, kinds, sigs, members, (left, right, sim))
        return self.result(members, similarity, kinds, candidates, len(left))

    def sign(self, texts: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The per-record work: each text's shingle kind and MinHash signature.

        Row-wise, so any batching of the texts gives the same values.

        Returns:
            ``(signatures, has_shingles, kinds)``, one row or value per text.
        """
        kinds = self._kinds(texts)
        sigs = np.empty((len(texts), self.config.num_perm), dtype=np.uint32)
        has = np.zeros(len(texts), dtype=bool)
        for kind in ("char", "word"):
            idx = np.flatnonzero(kinds == kind)
            if len(idx):
                sigs[idx], has[idx] = self._signatures(texts, idx, kind)
        return sigs, has, kinds

    def result(
        self,
        members: pl.DataFrame,
        similarity: np.ndarray,
        kinds: np.ndarray,
        candidates: int,
        verified: int,
    ) -> StepResult[NearFigures]:
        """Findings and figures from the clusters' members and their similarity to the
        representative (the reduction any executor ends with)."""
        cfg = self.config
        bands, rows = lsh_bands(cfg)
        figures = NearFigures(
            threshold=cfg.threshold,
            num_perm=cfg.num_perm,
            bands=bands,
            rows=rows,
            shingles=ShingleKinds(
                char=int((kinds == "char").sum()), word=int((kinds == "word").sum())
            ),
            candidate_pairs=candidates,
            verified_pairs=verified,
            clusters=members["label"].n_unique(),
            duplicates=len(members) - members["label"].n_unique(),
        )
        findings = duplicate_findings(
            members.with_columns(pl.Series("similarity", similarity)),
            check=self.name,
            reason="near_duplicate",
            severity="drop",
            cluster_ids=pl.lit("near:") + pl.col("rep_id"),
            similarity=pl.col("similarity"),
            extra={"threshold": cfg.threshold, "verify": cfg.verify},
        )
        return StepResult(findings=findings, figures=figures)

    # -- parts -------------------------------------------------------------------------------

    def _kinds(self, texts: pl.Series) -> np.ndarray:
        cfg = self.config
        if cfg.shingle != "auto":
            return np.full(len(texts), cfg.shingle)
        words = texts.str.count_matches(" ", literal=True).to_numpy() + 1
        return np.where(words >= cfg.auto_min_words, "word", "char")

    def _n(self, kind: str) -> int:
        return self.config.char_n if kind == "char" else self.config.word_n

    def _signatures(
        self, texts: pl.Series, idx: np.ndarray, kind: str
    ) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config

        def batch(lo: int) -> tuple[np.ndarray, np.ndarray]:
            part = texts.gather(idx[lo : lo + _BATCH]).to_list()
            hashes, counts = shingle_hashes(part, kind, self._n(kind))  # type: ignore[arg-type]
            return signatures(hashes, counts, cfg.num_perm, cfg.seed), counts > 0

        # numpy releases the GIL in the array work, so threads use both cores; map keeps order.
        with ThreadPoolExecutor(self.workers) as pool:
            parts = list(pool.map(batch, range(0, len(idx), _BATCH)))
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def pair_jaccard(
        self, texts: pl.Series, kinds: np.ndarray, left: np.ndarray, right: np.ndarray
    ) -> np.ndarray:
        """Exact Jaccard of each pair's shingle sets, recomputing shingles for those records."""
        out = np.zeros(len(left), dtype=np.float64)
        for kind in ("char", "word"):
            pick = np.flatnonzero((kinds[left] == kind) & (kinds[right] == kind))
            if not len(pick):
                continue
            involved, inverse = np.unique(np.r_[left[pick], right[pick]], return_inverse=True)
            sets, sizes = self._sets(texts.gather(involved), kind)
            li, ri = inverse[: len(pick)], inverse[len(pick) :]
            out[pick] = set_jaccard(sets, sizes, li, ri)
        return out

    def _sets(self, texts: pl.Series, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """Each text's distinct shingle hashes, a batch at a time: only the sets are kept, not
        every batch's raw hashes (repeats included) and temporaries."""
        parts = [
            distinct_hashes(
                *shingle_hashes(texts.slice(lo, _BATCH).to_list(), kind, self._n(kind))  # type: ignore[arg-type]
            )
            for lo in range(0, len(texts), _BATCH)
        ]
        if not parts:
            return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.int64)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def _verify(
        self,
        texts: pl.Series,
        kinds: np.ndarray,
        sigs: np.ndarray,
        left: np.ndarray,
        right: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The candidate pairs that pass verification, with their similarity."""
        mode = self.config.verify
        if mode == "signature" or (mode == "none" and len(left)):
            sim = estimated_jaccard(sigs, left, right)
        elif mode == "exact":
            sim = self.pair_jaccard(texts, kinds, left, right)
        else:
            sim = np.zeros(0)
        keep = sim >= self.config.threshold if mode != "none" else np.ones(len(left), dtype=bool)
        return left[keep], right[keep], sim[keep]

    def answers_agree(
        self, records: pl.DataFrame, kinds: np.ndarray, left: np.ndarray, right: np.ndarray
    ) -> np.ndarray:
        """Which pairs have alike answers too (equal, or exact Jaccard of their shingles at or
        over ``answer_threshold``, and final answers that do not conflict); a boolean mask over
        the pairs."""
        keep = ~kept_apart(records, left, right) if len(left) else np.ones(0, dtype=bool)
        if self.config.verify == "none" or not len(left):
            return keep
        answers = records.select(
            normalize_expr(content_text(("completion", "chosen", "rejected"))).alias("a")
        )["a"]
        # Most pairs that got here have equal answers (a copy with an edited prompt): skip those.
        differ = np.flatnonzero((answers.gather(left) != answers.gather(right)).to_numpy())
        if len(differ):
            sim = self.pair_jaccard(answers, kinds, left[differ], right[differ])
            keep[differ] = sim >= self.config.answer_threshold
            keep[differ] &= ~conflicting_pairs(records, left[differ], right[differ])
        return keep

    def _to_representative(
        self,
        texts: pl.Series,
        kinds: np.ndarray,
        sigs: np.ndarray,
        members: pl.DataFrame,
        verified: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> np.ndarray:
        """Each member's similarity to its cluster's representative (1.0 for itself).

        Most members were verified against their representative directly (clusters of two):
        those similarities are reused; only transitive members are computed afresh.
        """
        idx = members["idx"].to_numpy()
        rep = members["rep_idx"].to_numpy()
        out = np.ones(len(idx), dtype=np.float64)
        left, right, sim = verified
        n = len(texts)
        known = dict(zip((left * n + right).tolist(), sim.tolist(), strict=True))
        codes = (np.minimum(idx, rep) * n + np.maximum(idx, rep)).tolist()
        missing = []
        for k, code in enumerate(codes):
            if idx[k] != rep[k]:
                if code in known and self.config.verify != "none":
                    out[k] = known[code]
                else:
                    missing.append(k)
        if missing:
            m = np.array(missing)
            if self.config.verify == "exact":
                out[m] = self.pair_jaccard(texts, kinds, idx[m], rep[m])
            else:
                out[m] = estimated_jaccard(sigs, idx[m], rep[m])
        return out


VERIFIED_FALSE_NEGATIVE_WEIGHT = 0.8
"""datasketch's band/row optimisation weighs missed pairs against false candidates equally;
when candidates are verified a false candidate costs only its check, so missed pairs weigh
0.8. At threshold 0.7 this gives 18 x 7 instead of 14 x 9: a pair of true Jaccard 0.75 becomes
a candidate 92% of the time instead of 67%."""


def lsh_bands(config: NearConfig) -> tuple[int, int]:
    """Bands and rows for the config: datasketch's optimum, weighted towards recall when
    candidates are verified."""
    weight = 0.5 if config.verify == "none" else VERIFIED_FALSE_NEGATIVE_WEIGHT
    return optimal_bands(config.threshold, config.num_perm, weight)


def near_texts(records: pl.DataFrame) -> pl.Series:
    """The text near-duplicate detection shingles: the whole record's contents (prompt, then
    answers; roles left out, as they are shared by every record), normalised."""
    return records.select(normalize_expr(content_text()).alias("t"))["t"]


_BATCH = 4_000
"""Records per shingling/signature batch: bounds the temporary arrays (about 120 MB per batch
for records of a few hundred characters; two batches run at once)."""
