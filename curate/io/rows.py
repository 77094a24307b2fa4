"""A raw row, what every file reader yields: an object (a dict), or why it could not be one.

Every row of a file is yielded, bad ones included, with its 0-based row number and the
physical line where it starts, so callers can account for every row: ``ingested + rejected ==
rows``. The helpers here build the rejects the readers share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from curate.io import limits

FILE_TYPES = ("jsonl", "json", "parquet", "csv", "tsv")
"""The file types the readers take (each optionally gzip-compressed)."""

SURROGATE = re.compile("[\ud800-\udfff]")
"""A lone surrogate: from an escape (``\\ud800``) or, decoded with ``surrogateescape``, from
bytes that are not UTF-8."""


@dataclass(frozen=True)
class RawRow:
    """One row of a file: an object, or why it is not one."""

    row: int
    line: int | None
    value: dict[str, Any] | None
    reason: str | None = None
    detail: str | None = None
    raw: str | None = None


def clean(text: str) -> str:
    """Text safe to store: surrogates (from invalid UTF-8, or escapes) replaced."""
    return SURROGATE.sub("\ufffd", text)


def excerpt(data: bytes | str) -> str:
    """The start of a rejected row's raw text, kept with it."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    return clean(text[: limits.RAW_EXCERPT])


def object_or_reject(row: int, line: int | None, value: Any, raw: str) -> RawRow:
    """The row of a decoded value: the value if it is an object, else ``not_an_object``."""
    if isinstance(value, dict):
        return RawRow(row, line, value)
    kind = "array" if isinstance(value, list) else type(value).__name__
    return RawRow(row, line, None, "not_an_object", f"the row is a JSON {kind}, not an object", raw)


def too_large(row: int, line: int | None, size: int, unit: str = "bytes") -> RawRow:
    """The ``row_too_large`` reject of a row of ``size`` (read past, never kept)."""
    detail = f"the row is {size:,} {unit}; the limit is {limits.MAX_ROW_BYTES:,}"
    return RawRow(row, line, None, "row_too_large", detail, None)
