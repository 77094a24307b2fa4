"""Opaque runs (keys, hashes, base64) are masked before embedding; words and numbers are not."""

from __future__ import annotations

import random

import pytest

from curate.text.opaque import PLACEHOLDER, mask_all, mask_opaque


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("key sk-proj4f9Qz8LmN2xYv7Rt0Wq1 now", f"key sk-{PLACEHOLDER} now"),
        (
            "sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.",
            f"sha {PLACEHOLDER}.",
        ),
        ("blob QUJDRA1234QUJDRA1234QUJD== end", f"blob {PLACEHOLDER} end"),  # padding goes too
        ("a/b+c_d/e+f_g/h+i_j/k1 path", f"{PLACEHOLDER} path"),
    ],
)
def test_a_run_of_letters_and_digits_of_twenty_or_more_is_masked(text: str, masked: str) -> None:
    assert mask_opaque(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "Pneumonoultramicroscopicsilicovolcanoconiosis is a word",  # letters alone
        "the number 123456789012345678901234 stays",  # digits alone
        "abc123def456ghi789j is nineteen characters",  # 19: too short to be opaque
        "hyphens-break-runs-into-short-pieces-1 and plain prose",
    ],
)
def test_words_numbers_and_short_runs_stay(text: str) -> None:
    assert mask_opaque(text) == text


def test_a_word_run_does_not_hide_a_key_after_it() -> None:
    key = "Zx9" * 8
    assert mask_opaque(f"{'a' * 30} {key}") == f"{'a' * 30} {PLACEHOLDER}"


def test_masking_many_texts_is_masking_each() -> None:
    rng = random.Random(0)
    alphabet = "ab1Z9_+/" * 6 + "= .-\né"  # runs of every length, split by what ends a run
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(3000)]
    texts += ["key sk-proj4f9Qz8LmN2xYv7Rt0Wq1 now", "é" * 30 + "Zx9" * 8, ""]
    masked = mask_all(texts)
    assert masked == [mask_opaque(t) for t in texts]
    assert sum(m != t for m, t in zip(masked, texts, strict=True)) >= 10  # some were masked
    assert mask_all([]) == []
