"""The words that name a cluster of texts: frequent in it, rare in the others. Shared by the
diversity step (topic clusters) and the format profile (task names).
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

from curate.text.stopwords import STOP_WORDS

_WORD = re.compile(r"[^\W\d_]{2,}", re.U)

LABEL_STOP_WORDS = STOP_WORDS | frozenset(
    [
        "about",
        "all",
        "also",
        "any",
        "been",
        "can",
        "could",
        "did",
        "do",
        "does",
        "each",
        "had",
        "has",
        "have",
        "here",
        "into",
        "may",
        "me",
        "might",
        "more",
        "most",
        "must",
        "my",
        "no",
        "not",
        "other",
        "our",
        "shall",
        "should",
        "so",
        "some",
        "such",
        "than",
        "then",
        "there",
        "these",
        "those",
        "us",
        "will",
        "would",
        "your",
    ]
)
"""Words left out of cluster labels: the shared stop words, and the auxiliaries, modals,
negations and quantifiers that name no topic (the shared list keeps those for the contradiction
check, where "not" matters)."""


def top_terms(texts: list[str], labels: np.ndarray, k: int, n_terms: int = 3) -> list[list[str]]:
    """Each cluster's most characteristic words: frequency in it × log inverse cluster spread."""
    per: list[Counter[str]] = [Counter() for _ in range(k)]
    for text, label in zip(texts, labels.tolist(), strict=True):
        per[label].update(w for w in _WORD.findall(text.lower()) if w not in LABEL_STOP_WORDS)
    spread = Counter(w for c in per for w in c)
    out = []
    for c in per:
        scored = sorted(c, key=lambda w: (-c[w] * math.log(1 + k / spread[w]), w))
        out.append(scored[:n_terms])
    return out
