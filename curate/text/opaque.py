"""Opaque tokens: API keys, hashes, ids — long runs of letters and digits that carry no meaning.

An embedding model splits such a run into many sub-word pieces, and a mean-pooled (static) model
then sees mostly those pieces: two unrelated records that quote the same key come out nearly
identical (cosine 0.97 with ``minilm-static``), and two copies of one record with different ids
come out apart. Semantic steps embed the text with each opaque run replaced by one placeholder.
"""

from __future__ import annotations

import re

PLACEHOLDER = "<token>"

_OPAQUE = re.compile(
    r"(?<![A-Za-z0-9_+/])"  # the start of a run, not its middle
    r"(?=[A-Za-z0-9_+/]*[0-9])(?=[A-Za-z0-9_+/]*[A-Za-z])"  # letters and digits both
    r"[A-Za-z0-9_+/]{20,}=*"
)
"""A run of at least 20 identifier or base64 characters holding both letters and digits: no
word of a natural language, and every key, token, hash or base64 blob of a useful length."""


def mask_opaque(text: str) -> str:
    """``text`` with each opaque run replaced by ``PLACEHOLDER``."""
    return _OPAQUE.sub(PLACEHOLDER, text)
