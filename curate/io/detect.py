"""Which file type a dataset is: from its name (``.gz`` aside), else from its first bytes."""

from __future__ import annotations

from pathlib import Path

from curate.errors import DatasetFormatError
from curate.io import limits
from curate.io.row_guards import Reject, parse
from curate.io.rows import FILE_TYPES
from curate.io.streams import open_binary, open_text

_SUFFIXES = (
    (".jsonl", "jsonl"),
    (".ndjson", "jsonl"),
    (".json", "json"),
    (".parquet", "parquet"),
    (".csv", "csv"),
    (".tsv", "tsv"),
)


def detect_file_type(path: Path) -> str:
    """The file type from the name (``.gz`` aside), else from the first bytes.

    Raises:
        DatasetFormatError: neither the name nor the content says.
    """
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for suffix, kind in _SUFFIXES:
        if name.endswith(suffix):
            return (
                "json"
                if kind == "json" and _first_char(path) == "{" and _looks_jsonl(path)
                else kind
            )
    with open_binary(path) as f:
        head = f.read(4)
    if head == b"PAR1":
        return "parquet"
    first = _first_char(path)
    if first == "[":
        return "json"
    if first == "{":
        return "jsonl"
    raise DatasetFormatError(
        f"{path}: cannot tell the file type; expected one of {', '.join(FILE_TYPES)} "
        "(optionally gzip-compressed), by extension or content"
    )


def _first_char(path: Path) -> str:
    with open_text(path) as f:
        head = f.read(4096)
    return head.decode("utf-8", errors="ignore").lstrip(" \t\r\n")[:1]


def _looks_jsonl(path: Path) -> bool:
    """A ``.json`` file whose first line is a whole JSON object is really JSON Lines."""
    with open_text(path) as f:
        first = f.readline(limits.MAX_ROW_BYTES)
    try:
        return isinstance(parse(first.decode("utf-8")), dict)
    except (ValueError, Reject):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return False
