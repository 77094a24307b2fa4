"""Parquet files, read a record batch at a time; gzip-compressed ones are decompressed (under
the guard) to a temporary file first, since Parquet needs random access."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curate.errors import DatasetFormatError
from curate.io import limits
from curate.io.row_guards import guard_value
from curate.io.rows import RawRow
from curate.io.streams import is_gzip, open_binary


def parquet_rows(path: Path) -> Iterator[RawRow]:
    """Every row of a Parquet file, in order, each under the row guards.

    Raises:
        DatasetFormatError: not a readable Parquet file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    with tempfile.TemporaryFile() as spool:
        source: Any = path
        if is_gzip(path):
            with open_binary(path) as f:
                shutil.copyfileobj(f, spool, limits.CHUNK)
            spool.seek(0)
            source = spool
        try:
            pf = pq.ParquetFile(source, buffer_size=limits.CHUNK)
            batches = pf.iter_batches(batch_size=1024)
            row = 0
            for batch in batches:
                for value in _batch_rows(batch):
                    if isinstance(value, RawRow):
                        yield RawRow(row, None, None, value.reason, value.detail)
                    else:
                        found = guard_value(value)
                        yield RawRow(row, None, None, *found) if found else RawRow(row, None, value)
                    row += 1
        except (pa.ArrowException, OSError, ValueError) as e:  # pyarrow raises several types
            raise DatasetFormatError(f"{path}: not a readable Parquet file ({e})") from e


def _batch_rows(batch: Any) -> list[Any]:
    """A record batch as Python rows; a row whose values cannot be converted (invalid UTF-8 in a
    string column) is a reject in its place."""
    try:
        return batch.to_pylist()  # type: ignore[no-any-return]
    except UnicodeDecodeError:
        out: list[Any] = []
        for k in range(batch.num_rows):
            try:
                out.extend(batch.slice(k, 1).to_pylist())
            except UnicodeDecodeError as e:
                out.append(RawRow(-1, None, None, "invalid_utf8", f"invalid UTF-8 ({e.reason})"))
        return out
