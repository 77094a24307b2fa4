"""Diversity of prompts and answers: lexical, embedding, cluster and template figures.

A set that says the same thing many times, or asks everything through one template, teaches a
brittle habit. The figures here are the ones the literature uses: distinct-n (Li et al. 2016),
mean pairwise cosine distance, the Vendi score (Friedman & Dieng 2023: the exponential of the
Shannon entropy of the eigenvalues of K/n, K the cosine similarity matrix; the effective number
of distinct items), k-means cluster entropy with top-term labels, and prompt-template
concentration (the share of prompts opening with the same skeleton).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Callable

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from curate.audit.cluster_terms import top_terms
from curate.audit.format_profile import answers_text, prompt_text
from curate.pipeline.step import OmitNone, StepResult, findings_frame

_TOKEN = re.compile(r"\w+|[^\w\s]", re.U)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”|'[^']{2,}'")


def tokens(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens."""
    return _TOKEN.findall(text.lower())


def distinct_n(texts: list[str], n: int) -> float:
    """Distinct n-grams over all n-grams of all texts (0 when there are none)."""
    grams: Counter[tuple[str, ...]] = Counter()
    for text in texts:
        toks = tokens(text)
        grams.update(tuple(toks[i : i + n]) for i in range(len(toks) - n + 1))
    total = sum(grams.values())
    return len(grams) / total if total else 0.0


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)


def mean_pairwise_cosine_distance(embeddings: np.ndarray) -> float:
    """Mean of 1 - cos(x_i, x_j) over all pairs i != j, in O(n·d).

    With unit rows, the sum of all cosines (the diagonal included) is |Σx|², so the mean over
    the n(n-1) off-diagonal pairs is (|Σx|² - n) / (n(n-1)).
    """
    n = len(embeddings)
    if n < 2:
        return 0.0
    x = normalize_rows(np.asarray(embeddings, dtype=np.float64))
    s = x.sum(axis=0)
    mean_cos = (float(s @ s) - n) / (n * (n - 1))
    return 1.0 - mean_cos


def vendi_score(embeddings: np.ndarray) -> float:
    """exp of the entropy of the eigenvalues of K/n, K = cosine similarity matrix.

    K = XXᵀ and XᵀX share their non-zero eigenvalues, so the d×d matrix is used: the cost is
    O(n·d²), not O(n³). Ranges from 1 (all items alike) to n (all orthogonal).
    """
    n = len(embeddings)
    if n == 0:
        return 0.0
    x = normalize_rows(np.asarray(embeddings, dtype=np.float64))
    small = x.T @ x if x.shape[1] < n else x @ x.T
    eig = np.linalg.eigvalsh(small / n)
    eig = eig[eig > 1e-12]
    return float(math.exp(-float(np.sum(eig * np.log(eig)))))


def entropy(counts: list[int] | np.ndarray, normalized: bool = True) -> float:
    """Shannon entropy of a count vector; divided by log(len) when ``normalized`` (0..1)."""
    c = np.asarray([v for v in counts if v > 0], dtype=np.float64)
    if len(c) <= 1:
        return 0.0
    p = c / c.sum()
    h = float(-(p * np.log(p)).sum())
    return h / math.log(len(counts)) if normalized else h


def choose_k(n: int, max_k: int = 30) -> int:
    """Clusters for n items: about sqrt(n/2), at least 2, at most max_k (and n)."""
    return max(1, min(n, max_k, max(2, round(math.sqrt(n / 2)))))


def kmeans(embeddings: np.ndarray, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Cluster labels and centres (scikit-learn k-means, fixed seed, so reruns agree)."""
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(embeddings)
    return model.labels_.astype(np.int64), model.cluster_centers_


def skeleton(prompt: str, n_words: int = 4) -> str:
    """A prompt's template skeleton: its first words, numbers and quotes replaced by slots.

    "Convert 12 km to miles" and "Convert 5 km to miles" share ``convert <n> km to``.
    """
    first_line = prompt.strip().split("\n", 1)[0]
    slotted = _NUMBER.sub("<n>", _QUOTED.sub("<q>", first_line.lower()))
    words = re.findall(r"<\w>|[\w']+", slotted)
    return " ".join(words[:n_words])


def template_concentration(prompts: list[str], n_words: int = 4, top: int = 10) -> dict:
    """How concentrated prompts are on few skeletons.

    Returns the top skeleton's share, the top-``top`` skeletons with counts and shares, the
    number of distinct skeletons and their normalised entropy.
    """
    counts = Counter(skeleton(p, n_words) for p in prompts)
    n = len(prompts)
    ranked = counts.most_common()
    return {
        "n_words": n_words,
        "distinct_skeletons": len(counts),
        "top_share": round(ranked[0][1] / n, 4) if n else 0.0,
        "top10_share": round(sum(c for _, c in ranked[:10]) / n, 4) if n else 0.0,
        "entropy": round(entropy(list(counts.values())), 4) if n else 0.0,
        "top": [{"skeleton": s, "count": c, "share": round(c / n, 4)} for s, c in ranked[:top]],
    }


def pca_2d(embeddings: np.ndarray) -> np.ndarray:
    """A 2-D projection (scikit-learn PCA) for the embedding map."""
    from sklearn.decomposition import PCA

    if len(embeddings) < 3:
        return np.zeros((len(embeddings), 2))
    return PCA(n_components=2, random_state=0).fit_transform(embeddings)


# ---------------------------------------------------------------------------------------------
# The step
# ---------------------------------------------------------------------------------------------

LENGTH_EDGES = (0, 5, 10, 20, 50, 100, 200, 500, 1000)
"""Lower edges (words) of the length histogram bins; the last bin is open."""


class DiversityConfig(BaseModel):
    """Diversity figures."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    """Compute the diversity figures."""
    sample_size: int = Field(2000, ge=10)
    """Embedding figures (Vendi, dispersion, clusters, map) use a fixed random sample this big."""
    max_clusters: int = Field(30, ge=2)
    """Upper bound on k for k-means (k is about sqrt(n/2) of the sample)."""
    template_words: int = Field(4, ge=1)
    """Leading words (after slotting numbers and quotes) that make a prompt's skeleton."""
    seed: int = 0
    """Seed of the sample and of k-means, so reruns agree."""


def histogram(values: list[int]) -> list[dict]:
    """Counts per ``LENGTH_EDGES`` bin."""
    edges = np.asarray(LENGTH_EDGES)
    idx = np.searchsorted(edges, np.asarray(values, dtype=np.int64), side="right") - 1
    counts = np.bincount(idx, minlength=len(edges)) if len(values) else np.zeros(len(edges))
    labels = [f"{a}–{b - 1}" for a, b in itertools.pairwise(LENGTH_EDGES)] + [f"{edges[-1]}+"]
    return [{"bin": lab, "count": int(c)} for lab, c in zip(labels, counts, strict=True)]


class DistinctN(BaseModel):
    """Distinct n-grams over all n-grams, for n = 1, 2, 3."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    distinct_1: float
    """Distinct unigrams over all unigrams."""
    distinct_2: float
    """Distinct bigrams over all bigrams; the verdict's narrowness rule reads the prompts'."""
    distinct_3: float
    """Distinct trigrams over all trigrams."""


class HistogramBin(BaseModel):
    """One bin of a length histogram."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bin: str
    """The bin's word range (``0–4``, ..., ``1000+``)."""
    count: int
    """Texts in the bin."""


class LengthHistogram(BaseModel):
    """Words per prompt and per answer, binned by ``LENGTH_EDGES``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt_words: list[HistogramBin]
    """Prompts per bin."""
    answer_words: list[HistogramBin]
    """Answers per bin."""


class TemplateShare(BaseModel):
    """One prompt skeleton and how many prompts open with it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    skeleton: str
    """The skeleton (``convert <n> km to``)."""
    count: int
    """Prompts with it."""
    share: float
    """Their share of all prompts."""


class TemplateConcentration(BaseModel):
    """How concentrated prompts are on few skeletons (``template_concentration``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_words: int
    """Leading words that make a skeleton."""
    distinct_skeletons: int
    """Distinct skeletons."""
    top_share: float
    """The most common skeleton's share of prompts; the verdict's template rule reads it."""
    top10_share: float
    """The ten most common skeletons' share."""
    entropy: float
    """Normalised entropy of the skeleton counts."""
    top: list[TemplateShare]
    """The most common skeletons."""


class EmbeddingSpread(BaseModel):
    """How spread out a sample's embeddings are."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mean_cosine_distance: float
    """Mean pairwise cosine distance."""
    vendi: float
    """The Vendi score: the effective number of distinct items."""
    vendi_per_item: float
    """The Vendi score over the sample size."""


class EmbeddingDiversity(BaseModel):
    """Embedding figures of the sample, prompts and answers apart."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sample: int
    """Records in the sample (at most ``sample_size``)."""
    prompts: EmbeddingSpread
    """The prompts' spread."""
    answers: EmbeddingSpread
    """The answers' spread."""


class ClusterSize(BaseModel):
    """One k-means cluster of prompts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cluster: int
    """The cluster's label."""
    size: int
    """Prompts of the sample in it."""
    terms: list[str]
    """Its most characteristic words."""


class TopicClusters(BaseModel):
    """k-means clusters of the sample's prompt embeddings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    k: int
    """Clusters."""
    entropy: float
    """Normalised entropy of the cluster sizes; the verdict's narrowness rule reads it."""
    coverage: float
    """Effective clusters (exp of the entropy) over k."""
    sizes: list[ClusterSize]
    """The clusters, largest first."""


class EmbeddingMap(BaseModel):
    """The 2-D PCA projection of the sample's prompt embeddings, for the report's map."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    x: list[float]
    """First principal component, per prompt of the sample."""
    y: list[float]
    """Second principal component."""
    cluster: list[int]
    """Each prompt's k-means cluster."""


class DiversityFigures(BaseModel):
    """The diversity figures; the embedding ones only when the step had an embedder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n: int
    """Records."""
    prompts: DistinctN
    """Lexical diversity of the prompts."""
    answers: DistinctN
    """Lexical diversity of the answers."""
    length_histogram: LengthHistogram
    """Prompt and answer lengths."""
    templates: TemplateConcentration
    """Prompt-template concentration."""
    embedding: OmitNone[EmbeddingDiversity] = None
    """Embedding spread of a sample (with an embedder and 3 or more records)."""
    clusters: OmitNone[TopicClusters] = None
    """Topic clusters of the sample (as ``embedding``)."""
    map: OmitNone[EmbeddingMap] = None
    """The sample's embedding map (as ``embedding``)."""


class Diversity:
    """The step: diversity figures of prompts and answers (no findings)."""

    name = "diversity"

    def __init__(
        self,
        config: DiversityConfig | None = None,
        *,
        embed: Callable[[list[str]], np.ndarray] | None = None,
    ) -> None:
        self.config = config or DiversityConfig()
        self.embed = embed

    def run(self, records: pl.DataFrame) -> StepResult[DiversityFigures]:
        """Lexical, template and (with an embedder) embedding and cluster figures."""
        cfg = self.config
        rows = list(records.select("kind", "prompt", "completion", "chosen").iter_rows(named=True))
        prompts = [prompt_text(r) for r in rows]
        answers = [answers_text(r) for r in rows]
        figures: dict = {
            "n": len(rows),
            "prompts": {f"distinct_{n}": round(distinct_n(prompts, n), 4) for n in (1, 2, 3)},
            "answers": {f"distinct_{n}": round(distinct_n(answers, n), 4) for n in (1, 2, 3)},
            "length_histogram": {
                "prompt_words": histogram([len(p.split()) for p in prompts]),
                "answer_words": histogram([len(a.split()) for a in answers]),
            },
            "templates": template_concentration(prompts, cfg.template_words),
        }
        if self.embed is not None and len(rows) >= 3:
            figures |= self._embedding_figures(prompts, answers)
        return StepResult(
            findings=findings_frame([]), figures=DiversityFigures.model_validate(figures)
        )

    def _embedding_figures(self, prompts: list[str], answers: list[str]) -> dict:
        cfg = self.config
        assert self.embed is not None
        n = len(prompts)
        rng = np.random.default_rng(cfg.seed)
        idx = (
            np.sort(rng.choice(n, cfg.sample_size, replace=False))
            if n > cfg.sample_size
            else np.arange(n)
        )
        p_texts = [prompts[i] for i in idx]
        p_emb = normalize_rows(np.asarray(self.embed(p_texts)))
        a_emb = normalize_rows(np.asarray(self.embed([answers[i] for i in idx])))
        k = choose_k(len(idx), cfg.max_clusters)
        labels, _ = kmeans(p_emb, k, cfg.seed)
        sizes = np.bincount(labels, minlength=k)
        terms = top_terms(p_texts, labels, k)
        h = entropy(sizes.tolist())
        xy = pca_2d(p_emb)
        figures = {}
        for part, emb in (("prompts", p_emb), ("answers", a_emb)):
            vendi = vendi_score(emb)
            figures[part] = {
                "mean_cosine_distance": round(mean_pairwise_cosine_distance(emb), 4),
                "vendi": round(vendi, 2),
                "vendi_per_item": round(vendi / len(idx), 4),
            }
        return {
            "embedding": {"sample": len(idx), **figures},
            "clusters": {
                "k": k,
                "entropy": round(h, 4),
                "coverage": round(math.exp(h * math.log(k)) / k, 4) if k > 1 else 1.0,
                "sizes": [
                    {"cluster": c, "size": int(sizes[c]), "terms": terms[c]}
                    for c in np.argsort(-sizes, kind="stable").tolist()
                ],
            },
            "map": {
                "x": np.round(xy[:, 0], 3).tolist(),
                "y": np.round(xy[:, 1], 3).tolist(),
                "cluster": labels.tolist(),
            },
        }
