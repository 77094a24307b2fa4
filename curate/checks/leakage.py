"""Train/eval leakage: eval items whose text appears in the training records.

Two signals, each its own reason code:

- ``eval_ngram_overlap``: a training text shares a word n-gram with an eval item, after
  normalisation (NFKC, lower case, everything but letters and digits becomes a space).
  n is 13 as in GPT-3's and lm-evaluation-harness's decontamination; an eval item shorter than
  13 words is matched on n-grams of its own length, never below ``min_ngram`` (8), since a
  12-word question has no 13-gram at all. n-grams that many eval items share are templates
  ("solve the following problem and give your answer") and are ignored.
- ``eval_near_duplicate``: a training prompt is a near duplicate of an eval prompt (MinHash LSH
  over character 5-grams with ``curate.dedup.minhash``, confirmed by exact Jaccard), which catches
  paraphrased or lightly edited copies that share no long n-gram.

Each flagged record gets one finding per reason naming the eval item it overlaps most (id, the
matched n-gram or the similarity), how many eval items it touches, and a few of their ids.

Word n-grams are hashed in NumPy (a polynomial over per-word hashes, one vector operation per
word of the window), so 10k training records take well under a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from curate.dedup.minhash import optimal_bands, shingle_hashes, signatures
from curate.pipeline.step import Finding, OmitNone, Severity, StepResult, findings_frame

_P = np.uint64(0x100000001B3)
"""Multiplier of the n-gram hash (odd; uint64 arithmetic wraps, as intended)."""


class LeakageConfig(BaseModel):
    """How training records are compared with an eval set (the check runs only with one)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    """Run the leakage check when an eval set is given."""
    ngram: int = Field(13, ge=2)
    """Word n-gram size (13: the decontamination standard)."""
    min_ngram: int = Field(8, ge=2)
    """Eval items shorter than ``ngram`` words are matched on n-grams of their length, never
    shorter than this; items with fewer words are left to the near-duplicate match."""
    include_references: bool = True
    """Also look for eval references (answers) in the training records."""
    max_items_per_ngram: int = Field(5, ge=1)
    """An n-gram found in more eval items than this is a template, not content: ignored."""
    near: bool = True
    """Also match training prompts to eval prompts by MinHash near-duplicate search."""
    near_threshold: float = Field(0.7, gt=0, lt=1)
    """Jaccard similarity (character n-gram sets) at or above which prompts match."""
    char_n: int = Field(5, ge=2, le=16)
    """Character n-gram size of the near-duplicate match."""
    num_perm: int = Field(128, ge=16, le=1024)
    """MinHash permutations of the near-duplicate match."""
    severity: dict[str, Severity] = Field(default_factory=dict)
    """Severity per reason (``eval_ngram_overlap``, ``eval_near_duplicate``); default ``review``.
    Applied by ``run_steps`` with the config's other overrides, which beat it."""


class NgramFigures(BaseModel):
    """The n-gram overlap match."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n: int
    """The n-gram size (``ngram``)."""
    min_n: int
    """The smallest n used for short eval texts (``min_ngram``)."""
    eval_texts_checked: int
    """Eval texts (prompts and references) long enough to match."""
    eval_texts_too_short: int
    """Eval texts shorter than ``min_n`` words, left to the near-duplicate match."""


class NearMatchFigures(BaseModel):
    """The near-duplicate prompt match."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: float
    """The Jaccard threshold (``near_threshold``)."""
    shingles: str
    """The shingles compared (``char 5-grams``)."""
    bands: int
    """LSH bands."""
    rows: int
    """Rows per band."""
    candidate_pairs: int
    """(training prompt, eval prompt) pairs that collided in some band."""
    confirmed_pairs: OmitNone[int] = None
    """Candidate pairs at or over the threshold (absent when there was no candidate)."""


class LeakageFigures(BaseModel):
    """What the leakage check found."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    records: int
    """Training records checked."""
    eval_items: int
    """Items in the eval set."""
    ngram: NgramFigures
    """The n-gram overlap match."""
    near: OmitNone[NearMatchFigures] = None
    """The near-duplicate match (absent when ``near`` is off)."""
    records_flagged: int
    """Training records with a leakage finding."""
    by_reason: dict[str, int]
    """Findings per reason code (``eval_ngram_overlap``, ``eval_near_duplicate``)."""


def _normalise(expr: pl.Expr) -> pl.Expr:
    """NFKC, lower case, every character but letters, digits and spaces to a space, spaces
    collapsed: the normalisation decontamination tools use before comparing words. Deliberately
    not ``curate.text.normalize`` (exact dedup keeps operators such as "-" and "*", which would
    make "day -- she" and "day, she" different word sequences here)."""
    return (
        expr.str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_all(r"[^\p{L}\p{N}\s]", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def _messages(col: str, roles: tuple[str, ...]) -> pl.Expr:
    role = pl.element().struct.field("role")
    kept = pl.col(col).list.eval(pl.element().filter(role.is_in(list(roles))))
    return kept.list.eval(pl.element().struct.field("content")).list.join("\n").fill_null("")


def _texts(
    records: pl.DataFrame, fields: Sequence[tuple[str, str, tuple[str, ...]]]
) -> pl.DataFrame:
    """One row per (record, field): ``owner`` (record index), ``field``, normalised ``text``."""
    base = records.with_row_index("owner")
    parts = [
        base.select(
            pl.col("owner").cast(pl.Int64),
            pl.lit(name).alias("field"),
            _normalise(_messages(col, roles)).alias("text"),
        )
        for name, col, roles in fields
    ]
    return pl.concat(parts).filter(pl.col("text") != "")


def _words(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """(text index, word hash) for every word of every text, in order."""
    frame = pl.DataFrame({"w": texts.str.split(" ")}).with_row_index("t").explode("w")
    return frame["t"].to_numpy().astype(np.int64), frame["w"].hash(seed=13).to_numpy()


def _ngrams(owner: np.ndarray, hashes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every word n-gram inside one text, and the index of each n-gram's first word."""
    m = len(hashes) - n + 1
    if m <= 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    acc = np.zeros(m, dtype=np.uint64)
    for k in range(n):
        acc = acc * _P + hashes[k : k + m]
    start = np.flatnonzero(owner[:m] == owner[n - 1 :])
    return acc[start], start


def _pair_jaccard(
    hashes: np.ndarray, counts: np.ndarray, left: np.ndarray, right: np.ndarray
) -> list[float]:
    """Exact Jaccard of the shingle sets of each candidate pair.

    Sets are built only for the texts in some pair (a few per eval item): cheaper than
    ``minhash.exact_jaccard``, whose ``np.unique`` over every text's (owner, hash) keys is
    pathologically slow in NumPy 2.4 (28 s for 2.2M keys that a sort dedups in 1 s).
    """
    offsets = np.cumsum(counts) - counts
    sets = {
        int(i): set(hashes[offsets[i] : offsets[i] + counts[i]].tolist())
        for i in np.union1d(left, right)
    }
    return [
        len(sets[int(i)] & sets[int(j)]) / max(len(sets[int(i)] | sets[int(j)]), 1)
        for i, j in zip(left, right, strict=True)
    ]


class LeakageCheck:
    """Training records that contain, or nearly copy, an item of the eval set."""

    name = "leakage"

    def __init__(self, eval_records: pl.DataFrame, config: LeakageConfig | None = None) -> None:
        self.config = config or LeakageConfig()
        self.eval_records = eval_records

    def run(self, records: pl.DataFrame) -> StepResult[LeakageFigures]:
        """One finding per record and reason, naming the eval item it overlaps most."""
        cfg = self.config
        found: dict[tuple[int, str], list[dict[str, Any]]] = {}
        ngram_hits, ngram_figures = self._ngram_matches(records)
        for owner, evidence in ngram_hits:
            found.setdefault((owner, "eval_ngram_overlap"), []).append(evidence)
        near_figures = None
        if cfg.near:
            near_hits, near_figures = self._near_matches(records)
            for owner, evidence in near_hits:
                found.setdefault((owner, "eval_near_duplicate"), []).append(evidence)
        ids, rows = records["id"].to_list(), records["row"].to_list()
        findings = []
        for (owner, reason), matches in sorted(found.items()):
            key = "coverage" if reason == "eval_ngram_overlap" else "similarity"
            matches.sort(key=lambda e: (-e[key], e["eval_id"]))
            others = sorted({e["eval_id"] for e in matches} - {matches[0]["eval_id"]})
            evidence = {**matches[0], "eval_items": len(others) + 1, "other_eval_ids": others[:5]}
            findings.append(
                Finding(
                    record_id=ids[owner],
                    row=rows[owner],
                    check=self.name,
                    severity="review",
                    reason=reason,
                    evidence=evidence,
                )
            )
        figures = LeakageFigures(
            records=len(records),
            eval_items=len(self.eval_records),
            ngram=ngram_figures,
            near=near_figures,
            records_flagged=len({owner for owner, _ in found}),
            by_reason={
                r: sum(1 for _, reason in found if reason == r)
                for r in ("eval_ngram_overlap", "eval_near_duplicate")
            },
        )
        return StepResult(findings=findings_frame(findings), figures=figures)

    # -- n-gram overlap --------------------------------------------------------------------------

    def _ngram_matches(self, records: pl.DataFrame) -> tuple[list[tuple[int, dict]], NgramFigures]:
        cfg = self.config
        eval_fields = [("prompt", "prompt", ("user",))]
        if cfg.include_references:
            eval_fields.append(("reference", "completion", ("assistant",)))
        evals = _texts(self.eval_records, eval_fields)
        train = _texts(
            records,
            [("prompt", "prompt", ("system", "user"))]
            + [(col, col, ("assistant",)) for col in ("completion", "chosen", "rejected")],
        )
        e_owner, e_hash = _words(evals["text"])
        t_owner, t_hash = _words(train["text"])
        lengths = np.bincount(e_owner, minlength=len(evals))
        n_of = np.minimum(lengths, cfg.ngram)  # each eval text's n
        hits: list[pl.DataFrame] = []
        totals = np.zeros(len(evals), dtype=np.int64)
        for n in sorted(set(n_of[n_of >= cfg.min_ngram].tolist())):
            keys, start = _ngrams(e_owner, e_hash, n)
            owners = e_owner[start]
            keep = n_of[owners] == n
            grams = pl.DataFrame({"key": keys[keep], "eval": owners[keep]}).unique()
            totals += np.bincount(grams["eval"].to_numpy(), minlength=len(evals))
            spread = grams.group_by("key").agg(pl.len().alias("items"))
            grams = grams.join(spread.filter(pl.col("items") <= cfg.max_items_per_ngram), on="key")
            t_keys, t_start = _ngrams(t_owner, t_hash, n)
            train_grams = pl.DataFrame({"key": t_keys, "text": t_owner[t_start], "start": t_start})
            joined = train_grams.join(grams.select("key", "eval"), on="key")
            if joined.is_empty():
                continue
            hits.append(joined.with_columns(pl.lit(n).alias("n")))
        figures = NgramFigures(
            n=cfg.ngram,
            min_n=cfg.min_ngram,
            eval_texts_checked=int((n_of >= cfg.min_ngram).sum()),
            eval_texts_too_short=int((n_of < cfg.min_ngram).sum()),
        )
        if not hits:
            return [], figures
        pairs = (
            pl.concat(hits)
            .group_by("text", "eval")
            .agg(
                pl.col("key").n_unique().alias("matched"),
                pl.col("start").min(),
                pl.col("n").first(),
            )
            .sort("text", "eval")
        )
        texts = train["text"]
        per_text = np.bincount(t_owner, minlength=len(train))
        first_word = np.cumsum(per_text) - per_text
        out = []
        for text, ev, matched, start, n in pairs.iter_rows():
            local = int(start - first_word[text])
            words = texts[text].split(" ")  # only texts with a hit are split in Python
            out.append(
                (
                    int(train["owner"][text]),
                    {
                        "eval_id": self.eval_records["id"][int(evals["owner"][ev])],
                        "eval_row": self.eval_records["row"][int(evals["owner"][ev])],
                        "eval_field": evals["field"][ev],
                        "side": train["field"][text],
                        "n": n,
                        "ngram": " ".join(words[local : local + n]),
                        "matched_ngrams": matched,
                        "coverage": round(matched / max(int(totals[ev]), 1), 3),
                    },
                )
            )
        return out, figures

    # -- near-duplicate prompts ------------------------------------------------------------------

    def _near_matches(
        self, records: pl.DataFrame
    ) -> tuple[list[tuple[int, dict]], NearMatchFigures]:
        cfg = self.config
        train = _texts(records, [("prompt", "prompt", ("user",))])
        evals = _texts(self.eval_records, [("prompt", "prompt", ("user",))])
        texts = train["text"].to_list() + evals["text"].to_list()
        hashes, counts = shingle_hashes(texts, "char", cfg.char_n)
        sigs = signatures(hashes, counts, cfg.num_perm, seed=1)
        bands, rows = optimal_bands(cfg.near_threshold, cfg.num_perm)
        n_train = len(train)
        # One row per (band, text): a band's key hashes its rows; train and eval texts meet in
        # a join on (band, key), so every cross pair in a bucket is found, and no pair within
        # the training set is ever formed.
        nonempty = np.flatnonzero(counts > 0)
        keys = np.zeros((bands, len(nonempty)), dtype=np.uint64)
        for band in range(bands):
            block = sigs[nonempty, band * rows : (band + 1) * rows].astype(np.uint64)
            for r in range(rows):
                keys[band] = keys[band] * _P + block[:, r]
        table = pl.DataFrame(
            {
                "band": np.repeat(np.arange(bands), len(nonempty)),
                "key": keys.ravel(),
                "i": np.tile(nonempty, bands),
            }
        )
        left = table.filter(pl.col("i") < n_train)
        right = table.filter(pl.col("i") >= n_train)
        pairs = (
            left.join(right, on=["band", "key"])
            .select("i", "i_right")
            .unique()
            .sort("i", "i_right")
        )
        figures = NearMatchFigures(
            threshold=cfg.near_threshold,
            shingles=f"char {cfg.char_n}-grams",
            bands=bands,
            rows=rows,
            candidate_pairs=len(pairs),
        )
        if pairs.is_empty():
            return [], figures
        a, b = pairs["i"].to_numpy(), pairs["i_right"].to_numpy()
        similarity = _pair_jaccard(hashes, counts, a, b)
        out = []
        for i, j, sim in zip(a, b, similarity, strict=True):
            if sim >= cfg.near_threshold:
                ev = int(evals["owner"][int(j) - n_train])
                out.append(
                    (
                        int(train["owner"][int(i)]),
                        {
                            "eval_id": self.eval_records["id"][ev],
                            "eval_row": self.eval_records["row"][ev],
                            "side": "prompt",
                            "similarity": round(float(sim), 3),
                            "eval_prompt": texts[int(j)][:120],
                        },
                    )
                )
        return out, figures.model_copy(update={"confirmed_pairs": len(out)})
