"""Each diversity metric against a value computed by hand, and the step's figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from curate.audit.diversity import (
    Diversity,
    DiversityConfig,
    distinct_n,
    entropy,
    mean_pairwise_cosine_distance,
    skeleton,
    template_concentration,
    top_terms,
    vendi_score,
)

# three unit vectors: e1, e2, e1 again
E = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])


def test_distinct_n_by_hand():
    # tokens a b a b c: unigrams {a, b, c} of 5; bigrams ab ba ab bc: 3 distinct of 4
    assert distinct_n(["a b a", "b c"], 1) == pytest.approx(3 / 5)
    assert distinct_n(["a b a b c"], 2) == pytest.approx(3 / 4)
    assert distinct_n(["a b a b c"], 3) == pytest.approx(3 / 3)  # aba bab abc
    assert distinct_n(["a"], 2) == 0.0


def test_mean_pairwise_cosine_distance_by_hand():
    # pairs (1,2): 1 - 0 = 1; (1,3): 1 - 1 = 0; (2,3): 1 - 0 = 1  -> mean 2/3
    assert mean_pairwise_cosine_distance(E) == pytest.approx(2 / 3)
    assert mean_pairwise_cosine_distance(np.array([[2.0, 0.0], [5.0, 0.0]])) == pytest.approx(0)


def test_vendi_score_by_hand():
    # K = [[1,0,1],[0,1,0],[1,0,1]]; K/3 has eigenvalues 2/3, 1/3, 0
    h = -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3))
    assert vendi_score(E) == pytest.approx(math.exp(h))
    assert vendi_score(np.eye(5)) == pytest.approx(5.0)  # all distinct: n
    assert vendi_score(np.ones((4, 3))) == pytest.approx(1.0)  # all alike: 1
    # the large-n path (d x d matrix) agrees with the small-n path (n x n matrix)
    x = np.random.default_rng(0).normal(size=(50, 4))
    k = (x / np.linalg.norm(x, axis=1, keepdims=True)) @ (
        x / np.linalg.norm(x, axis=1, keepdims=True)
    ).T
    eig = np.linalg.eigvalsh(k / 50)
    eig = eig[eig > 1e-12]
    assert vendi_score(x) == pytest.approx(math.exp(-np.sum(eig * np.log(eig))))


def test_entropy_by_hand():
    assert entropy([5, 5]) == pytest.approx(1.0)
    assert entropy([10, 0]) == pytest.approx(0.0)
    p = np.array([2, 1, 1]) / 4
    assert entropy([2, 1, 1], normalized=False) == pytest.approx(-(p * np.log(p)).sum())
    assert entropy([2, 1, 1]) == pytest.approx(-(p * np.log(p)).sum() / math.log(3))


def test_template_concentration_by_hand():
    prompts = [
        "Convert 12 km to miles",
        "Convert 5 km to miles please",
        "Write a poem",
        'Translate "hi" to French',
    ]
    assert skeleton(prompts[0]) == skeleton(prompts[1]) == "convert <n> km to"
    assert skeleton(prompts[3]) == "translate <q> to french"
    t = template_concentration(prompts)
    assert t["top_share"] == 0.5 and t["distinct_skeletons"] == 3
    assert t["top"][0] == {"skeleton": "convert <n> km to", "count": 2, "share": 0.5}


def test_top_terms_label_clusters_by_their_own_words():
    texts = ["cook pasta sauce", "pasta sauce recipe", "python code bug", "python code test"]
    labels = np.array([0, 0, 1, 1])
    terms = top_terms(texts, labels, 2, n_terms=2)
    assert terms == [["pasta", "sauce"], ["code", "python"]]


def test_step_figures_with_an_embedder(sft_frame):
    pairs = [(f"Convert {i} km to miles", f"{i} km is {i * 0.62:.2f} miles.") for i in range(12)]
    pairs += [
        (f"Write a poem about topic {i}", "Roses are red.\nViolets are blue.") for i in range(8)
    ]
    frame = sft_frame(pairs)
    rng = np.random.default_rng(1)

    def embed(texts):
        return rng.normal(size=(len(texts), 8))

    result = Diversity(DiversityConfig(sample_size=15), embed=embed).run(frame)
    f = result.figures
    assert result.findings.height == 0
    assert f.templates.top_share == pytest.approx(12 / 20)
    assert f.embedding.sample == 15
    assert sum(c.size for c in f.clusters.sizes) == 15
    assert len(f.map.x) == len(f.map.cluster) == 15
    assert sum(b.count for b in f.length_histogram.prompt_words) == 20
    assert 0 < f.prompts.distinct_1 < 1
    plain = Diversity().run(frame).figures  # no embedder: lexical and template figures only
    assert plain.embedding is None and plain.templates.top_share == f.templates.top_share
