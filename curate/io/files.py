"""File types: iterate the raw rows of a JSONL, JSON array, Parquet, CSV or TSV file, gzip or not.

A raw row is an object (a dict) or the reason it could not become one. Every row is yielded, bad
ones included, with its 0-based row number and the physical line where it starts, so callers can
account for every row: ``ingested + rejected == rows``. A file that cannot be read at all (binary,
a truncated gzip stream, a JSON array with a syntax error) raises ``DatasetFormatError``.

The layers, each bounded so that peak memory does not grow with the file, each a module::

    bytes -> guarded gzip decompression -> text decoding (BOM, UTF-16/32)   streams
          -> rows (jsonl, json_array, parquet_rows, delimited)              one per file type
          -> row guards (too_deep, number_too_long, non_finite_number,      row_guards
             invalid_unicode, invalid_utf8, row_too_large)

The bounds are in ``curate.io.limits``; the raw row and its rejects in ``curate.io.rows``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from curate.errors import DatasetFormatError
from curate.io.delimited import delimited_rows
from curate.io.detect import detect_file_type
from curate.io.json_array import json_array_rows
from curate.io.jsonl import jsonl_rows
from curate.io.parquet_rows import parquet_rows
from curate.io.row_guards import guard_value
from curate.io.rows import FILE_TYPES, RawRow
from curate.io.streams import check_text, open_binary, open_text

__all__ = [
    "FILE_TYPES",
    "RawRow",
    "check_text",
    "detect_file_type",
    "guard_value",
    "iter_rows",
    "open_binary",
    "open_text",
]


def iter_rows(path: Path, file_type: str) -> Iterator[RawRow]:
    """Yield every row of the file in order, one at a time (memory does not grow with the file).

    Raises:
        DatasetFormatError: the file cannot be read as ``file_type`` at all.
        DecompressionLimit: a gzip stream expands past the size or ratio limit.
    """
    if file_type == "jsonl":
        yield from jsonl_rows(path)
    elif file_type == "json":
        yield from json_array_rows(path)
    elif file_type == "parquet":
        yield from parquet_rows(path)
    elif file_type in ("csv", "tsv"):
        yield from delimited_rows(path, file_type)
    else:
        raise DatasetFormatError(f"{path}: unknown file type {file_type!r}; expected {FILE_TYPES}")
