"""File types: iterate the raw rows of a JSONL, JSON array, Parquet, CSV or TSV file, gzip or not.

A raw row is an object (a dict) or the reason it could not become one. Every row is yielded, bad
ones included, with its 0-based row number and the physical line where it starts, so callers can
account for every row: ``ingested + rejected == rows``.
"""

from __future__ import annotations

import bisect
import csv
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from curate.errors import DatasetFormatError

MAX_ROW_BYTES = 8 * 1024 * 1024
"""A row (JSONL line, JSON element) larger than this is rejected unread (``row_too_large``)."""

RAW_EXCERPT = 300
"""How much of a rejected row's raw text is kept with it."""

FILE_TYPES = ("jsonl", "json", "parquet", "csv", "tsv")


@dataclass(frozen=True)
class RawRow:
    """One row of a file: an object, or why it is not one."""

    row: int
    line: int | None
    value: dict[str, Any] | None
    reason: str | None = None
    detail: str | None = None
    raw: str | None = None


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def open_binary(path: Path) -> IO[bytes]:
    """Open a file for reading bytes, decompressing gzip (detected by its magic bytes)."""
    return gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")  # type: ignore[return-value]


def detect_file_type(path: Path) -> str:
    """The file type from the name (``.gz`` aside), else from the first bytes."""
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for suffix, kind in (
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "json"),
        (".parquet", "parquet"),
        (".csv", "csv"),
        (".tsv", "tsv"),
    ):
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
    with open_binary(path) as f:
        head = f.read(4096)
    check_text(path, head)
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    return text[:1]


def _looks_jsonl(path: Path) -> bool:
    """A ``.json`` file whose first line is a whole JSON object is really JSON Lines."""
    with open_binary(path) as f:
        first = f.readline(MAX_ROW_BYTES)
    try:
        return isinstance(json.loads(first), dict)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False


def check_text(path: Path, head: bytes) -> None:
    """Fail clearly when a file meant to be text is binary."""
    if b"\x00" in head:
        raise DatasetFormatError(
            f"{path}: binary content (NUL bytes) where a text dataset was expected; "
            f"tunesmith reads {', '.join(FILE_TYPES)} files"
        )


def iter_rows(path: Path, file_type: str) -> Iterator[RawRow]:
    """Yield every row of the file in order."""
    if file_type == "jsonl":
        yield from _jsonl(path)
    elif file_type == "json":
        yield from _json_array(path)
    elif file_type == "parquet":
        yield from _parquet(path)
    elif file_type in ("csv", "tsv"):
        yield from _delimited(path, file_type)
    else:
        raise DatasetFormatError(f"{path}: unknown file type {file_type!r}; expected {FILE_TYPES}")


def _excerpt(data: bytes | str) -> str:
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    return text[:RAW_EXCERPT]


def _object_or_reject(row: int, line: int | None, value: Any, raw: str) -> RawRow:
    if isinstance(value, dict):
        return RawRow(row, line, value)
    kind = "array" if isinstance(value, list) else type(value).__name__
    return RawRow(row, line, None, "not_an_object", f"the row is a JSON {kind}, not an object", raw)


def _jsonl(path: Path) -> Iterator[RawRow]:
    with open_binary(path) as f:
        check_text(path, f.read(8192))
    with open_binary(path) as f:
        row, line = 0, 0
        while True:
            data = f.readline(MAX_ROW_BYTES + 1)
            if not data:
                return
            line += 1
            if len(data) > MAX_ROW_BYTES and not data.endswith(b"\n"):
                size = len(data)
                while data and not data.endswith(b"\n"):  # skip the rest of the long line
                    data = f.readline(MAX_ROW_BYTES)
                    size += len(data)
                yield RawRow(
                    row,
                    line,
                    None,
                    "row_too_large",
                    f"line is {size:,} bytes; the limit is {MAX_ROW_BYTES:,}",
                    None,
                )
                row += 1
                continue
            if not data.strip():
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as e:
                yield RawRow(
                    row,
                    line,
                    None,
                    "invalid_utf8",
                    f"invalid UTF-8 at byte {e.start}",
                    _excerpt(data),
                )
                row += 1
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as e:
                yield RawRow(
                    row, line, None, "invalid_json", f"{e.msg} at column {e.colno}", _excerpt(text)
                )
            else:
                yield _object_or_reject(row, line, value, _excerpt(text))
            row += 1


def _json_array(path: Path) -> Iterator[RawRow]:
    with open_binary(path) as f:
        data = f.read()
    check_text(path, data[:8192])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise DatasetFormatError(f"{path}: invalid UTF-8 at line {line}, byte {e.start}") from e
    newlines = [i for i, ch in enumerate(text) if ch == "\n"]
    decoder = json.JSONDecoder()
    n = len(text)

    def skip_ws(i: int) -> int:
        while i < n and text[i] in " \t\r\n":
            i += 1
        return i

    def line_of(i: int) -> int:
        return bisect.bisect_left(newlines, i) + 1

    i = skip_ws(0)
    if i >= n or text[i] != "[":
        raise DatasetFormatError(f"{path}: expected a JSON array of records ('[' at the start)")
    i, row = skip_ws(i + 1), 0
    if i < n and text[i] == "]":
        return
    while True:
        try:
            value, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError as e:
            raise DatasetFormatError(
                f"{path}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg} "
                f"(after {row} readable records; a JSON array cannot be read past a syntax error)"
            ) from e
        if end - i > MAX_ROW_BYTES:
            yield RawRow(
                row,
                line_of(i),
                None,
                "row_too_large",
                f"record is {end - i:,} characters; the limit is {MAX_ROW_BYTES:,}",
                None,
            )
        else:
            yield _object_or_reject(row, line_of(i), value, _excerpt(text[i:end]))
        row += 1
        i = skip_ws(end)
        if i < n and text[i] == ",":
            i = skip_ws(i + 1)
            continue
        if i < n and text[i] == "]":
            if skip_ws(i + 1) < n:
                raise DatasetFormatError(
                    f"{path}: unexpected content after the array at line {line_of(i)}"
                )
            return
        raise DatasetFormatError(f"{path}: expected ',' or ']' at line {line_of(i)}")


def _parquet(path: Path) -> Iterator[RawRow]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises several types for a bad file
        raise DatasetFormatError(f"{path}: not a readable Parquet file ({e})") from e
    row = 0
    for batch in pf.iter_batches(batch_size=4096):
        for value in batch.to_pylist():
            yield RawRow(row, None, value)
            row += 1


def _delimited(path: Path, file_type: str) -> Iterator[RawRow]:
    csv.field_size_limit(MAX_ROW_BYTES)
    with open_binary(path) as fb:
        check_text(path, fb.read(8192))
    with open_binary(path) as fb:
        text = io.TextIOWrapper(fb, encoding="utf-8-sig", errors="strict", newline="")
        # TSV files in the wild hold stray quotes: read them with quoting off.
        quoting: Literal[0, 1, 2, 3] = csv.QUOTE_NONE if file_type == "tsv" else csv.QUOTE_MINIMAL
        delimiter = "\t" if file_type == "tsv" else ","
        reader = csv.reader(text, delimiter=delimiter, quoting=quoting)
        try:
            header = next(reader)
        except StopIteration:
            return
        except (UnicodeDecodeError, csv.Error) as e:
            raise DatasetFormatError(f"{path}: cannot read the header line ({e})") from e
        row = 0
        while True:
            start = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as e:
                # the rest of the stream cannot be resynchronised once decoding fails
                raise DatasetFormatError(
                    f"{path}: invalid UTF-8 near line {start} ({e.reason})"
                ) from e
            except csv.Error as e:
                yield RawRow(row, start, None, "malformed_csv", str(e), None)
                row += 1
                continue
            if not any(f.strip() for f in fields):
                continue
            if len(fields) != len(header):
                yield RawRow(
                    row,
                    start,
                    None,
                    "wrong_field_count",
                    f"{len(fields)} fields, the header has {len(header)}",
                    _excerpt(delimiter.join(fields)),
                )
            else:
                yield RawRow(row, start, dict(zip(header, fields, strict=True)))
            row += 1
