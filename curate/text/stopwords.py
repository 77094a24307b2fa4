"""English stop words: the function words that carry no content, for word-overlap comparisons.

One list for every step that compares or summarises texts by their words. It holds articles,
common prepositions and conjunctions, forms of "to be", pronouns and question words. It leaves
out negations, modals and quantifiers ("not", "can", "all") on purpose: two answers that differ
only in "is" and "is not" must not look identical to the contradiction check. A step that also
wants those gone (topic labels) adds them under its own name.
"""

from __future__ import annotations

STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "for",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "it",
        "this",
        "that",
        "with",
        "as",
        "by",
        "at",
        "from",
        "which",
        "who",
        "what",
        "when",
        "where",
        "how",
        "why",
        "its",
        "their",
        "his",
        "her",
        "they",
        "he",
        "she",
        "we",
        "you",
        "i",
    ]
)
"""Lower-case English function words."""
