"""Opaque tokens: API keys, hashes, ids — long runs of letters and digits that carry no meaning.

An embedding model splits such a run into many sub-word pieces, and a mean-pooled (static) model
then sees mostly those pieces: two unrelated records that quote the same key come out nearly
identical (cosine 0.97 with ``minilm-static``), and two copies of one record with different ids
come out apart. Semantic steps embed the text with each opaque run replaced by one placeholder.
"""

from __future__ import annotations

import re

PLACEHOLDER = "<token>"

_RUN = re.compile(r"(?<![A-Za-z0-9_+/])[A-Za-z0-9_+/]{20,}=*")
"""A whole run (it starts where a run starts) of at least 20 identifier or base64 characters,
with base64's padding."""
_DIGIT, _LETTER = re.compile(r"[0-9]"), re.compile(r"[A-Za-z]")


def _opaque(match: re.Match[str]) -> str:
    """The placeholder for a run holding letters and digits both (no word of a natural language,
    and every key, token, hash or base64 blob of a useful length); a word run stays as it is."""
    run = match.group()
    return PLACEHOLDER if _DIGIT.search(run) and _LETTER.search(run) else run


def mask_opaque(text: str) -> str:
    """``text`` with each opaque run replaced by ``PLACEHOLDER``."""
    return _RUN.sub(_opaque, text)
