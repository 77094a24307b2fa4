"""The bounds that keep a reader's memory flat whatever the file holds.

The readers look these up as ``limits.NAME`` when they run (not copied at import), so a test
can lower one with ``monkeypatch.setattr(limits, "MAX_ROW_BYTES", 1000)``. The decompression
limits can also be set per process through environment variables, read when a file is opened
(``env_limit``).
"""

from __future__ import annotations

import os
import sys

from curate.errors import InputError

MAX_ROW_BYTES = 8 * 1024 * 1024
"""A row (JSONL line, JSON element, CSV line) larger than this is rejected unread
(``row_too_large``)."""

RAW_EXCERPT = 300
"""How much of a rejected row's raw text is kept with it."""

MAX_DEPTH = 64
"""Rows nested deeper than this (objects and arrays) are rejected (``too_deep``)."""

MAX_NUMBER_DIGITS = sys.get_int_max_str_digits() or 4300
"""A number literal longer than this is rejected (``number_too_long``); Python's own limit."""

MAX_DECOMPRESSED_BYTES = 4 << 30
"""A gzip stream that expands past this many bytes stops with ``DecompressionLimit``
(``TUNESMITH_MAX_DECOMPRESSED_BYTES``)."""

MAX_DECOMPRESSION_RATIO = 100.0
"""A gzip stream that expands more than this (out:in) stops with ``DecompressionLimit``...
(``TUNESMITH_MAX_DECOMPRESSION_RATIO``)"""

RATIO_CHECK_AFTER_BYTES = 16 << 20
"""...once more than this many bytes are out (small files compress well and are harmless)
(``TUNESMITH_DECOMPRESSION_RATIO_AFTER_BYTES``)."""

CHUNK = 1 << 20
"""Bytes read at a time."""


def env_limit(name: str, default: float) -> float:
    """The number in environment variable ``name``, or ``default`` when it is unset or empty.

    Raises:
        InputError: the variable is set to something that is not a number.
    """
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return float(value)
    except ValueError as e:
        raise InputError(f"{name}={value!r} is not a number") from e
