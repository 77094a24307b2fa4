"""Opaque tokens: API keys, hashes, ids — long runs of letters and digits that carry no meaning.

An embedding model splits such a run into many sub-word pieces, and a mean-pooled (static) model
then sees mostly those pieces: two unrelated records that quote the same key come out nearly
identical (cosine 0.97 with ``minilm-static``), and two copies of one record with different ids
come out apart. Semantic steps embed the text with each opaque run replaced by one placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import polars as pl

PLACEHOLDER = "<token>"

_RUN = re.compile(r"(?<![A-Za-z0-9_+/])[A-Za-z0-9_+/]{20,}=*")
"""A whole run (it starts where a run starts) of at least 20 identifier or base64 characters,
with base64's padding."""
_MAYBE = r"[A-Za-z0-9_+/]{20}"
"""What every run holds: Polars' regex engine finds the texts that may hold one, and only those
go through ``_RUN`` (eight times faster on the alpaca texts, where 54 of 9,229 may)."""
_DIGIT, _LETTER = re.compile(r"[0-9]"), re.compile(r"[A-Za-z]")


def _opaque(match: re.Match[str]) -> str:
    """The placeholder for a run holding letters and digits both (no word of a natural language,
    and every key, token, hash or base64 blob of a useful length); a word run stays as it is."""
    run = match.group()
    return PLACEHOLDER if _DIGIT.search(run) and _LETTER.search(run) else run


def mask_opaque(text: str) -> str:
    """``text`` with each opaque run replaced by ``PLACEHOLDER``."""
    return _RUN.sub(_opaque, text)


def mask_all(texts: Sequence[str]) -> list[str]:
    """``mask_opaque`` of each text, in order; the texts that cannot hold a run are not scanned."""
    if not texts:
        return []
    maybe = pl.Series(texts, dtype=pl.Utf8).str.contains(_MAYBE).to_list()
    return [mask_opaque(t) if hit else t for t, hit in zip(texts, maybe, strict=True)]
