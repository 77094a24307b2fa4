"""CSV and TSV files: a header line, then one row per record (a quoted field may span lines).
Every row is yielded, a bad one (invalid UTF-8, a wrong field count, a quote never closed, a
line past the size limit) rejected in its place with the line where it starts."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Literal

from curate.errors import DatasetFormatError
from curate.io import limits
from curate.io.rows import SURROGATE, RawRow, excerpt, too_large
from curate.io.streams import open_text, skip_long_line


class _Lines:
    """The physical lines of a UTF-8 byte stream for ``csv.reader``: invalid bytes kept as
    surrogate escapes (rejected per row), a line longer than ``MAX_ROW_BYTES`` skipped with
    ``_LongLine`` (the reader resets and goes on with the next line)."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f, self.line, self.eof = f, 0, False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        data = self.f.readline(limits.MAX_ROW_BYTES + 1)
        if not data:
            self.eof = True
            raise StopIteration
        self.line += 1
        if len(data) > limits.MAX_ROW_BYTES and not data.endswith(b"\n"):
            raise _LongLine(skip_long_line(self.f, data))
        return data.decode("utf-8", "surrogateescape")


class _LongLine(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


def delimited_rows(path: Path, file_type: str) -> Iterator[RawRow]:
    """Every row of a CSV or TSV file (``file_type``), in order, as an object keyed by the
    header; a row that cannot be read is rejected in its place.

    Raises:
        DatasetFormatError: the header line cannot be read.
    """
    csv.field_size_limit(limits.MAX_ROW_BYTES)
    with open_text(path) as f:
        lines = _Lines(f)
        # TSV files in the wild hold stray quotes: read them with quoting off.
        quoting: Literal[0, 1, 2, 3] = csv.QUOTE_NONE if file_type == "tsv" else csv.QUOTE_MINIMAL
        delimiter = "\t" if file_type == "tsv" else ","
        reader = csv.reader(lines, delimiter=delimiter, quoting=quoting)
        try:
            header = next(reader)
        except StopIteration:
            return
        except _LongLine as e:
            raise DatasetFormatError(f"{path}: the header line is {e.size:,} bytes long") from e
        except csv.Error as e:
            raise DatasetFormatError(f"{path}: cannot read the header line ({e})") from e
        if any(SURROGATE.search(h) for h in header):
            raise DatasetFormatError(f"{path}: invalid UTF-8 in the header line")
        if lines.eof:
            raise DatasetFormatError(
                f"{path}: the header line opens a quoted field that is never closed"
            )
        row = 0
        while True:
            start = lines.line + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except _LongLine as e:
                yield too_large(row, start, e.size)
                row += 1
                continue
            except csv.Error as e:
                yield RawRow(row, start, None, "malformed_csv", f"{e} (line {lines.line})", None)
                row += 1
                continue
            if lines.eof:  # the reader asked for a line past the end: a quote left open
                detail = (
                    f"a quoted field opened on line {start} is never closed: lines {start}-"
                    f"{lines.line} (the end of the file) were read as one row"
                )
                raw = excerpt(delimiter.join(fields))
                yield RawRow(row, start, None, "unterminated_quote", detail, raw)
                return
            if not any(f.strip() for f in fields):
                continue
            bad = next((k for k, v in enumerate(fields) if SURROGATE.search(v)), None)
            if bad is not None:
                name = repr(header[bad]) if bad < len(header) else f"{bad + 1}"
                detail = f"invalid UTF-8 in column {name} (line {start})"
                yield RawRow(row, start, None, "invalid_utf8", detail, excerpt(fields[bad]))
            elif len(fields) != len(header):
                yield RawRow(
                    row,
                    start,
                    None,
                    "wrong_field_count",
                    f"{len(fields)} fields, the header has {len(header)}",
                    excerpt(delimiter.join(fields)),
                )
            else:
                yield RawRow(row, start, dict(zip(header, fields, strict=True)))
            row += 1
