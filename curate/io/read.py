"""Read a dataset file (or rows held in memory) into canonical records and rejects."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from curate.errors import DatasetFormatError, InputError
from curate.io.arrow_files import folder_sha256, is_arrow_file, is_hf_disk, iter_arrow, iter_hf_disk
from curate.io.files import FILE_TYPES, RawRow, detect_file_type, iter_rows
from curate.io.shapes import (
    SHAPES_BY_NAME,
    Parts,
    RowError,
    Shape,
    detect_shape,
    expected_shapes,
)
from curate.io.writers import WRITTEN_COLUMNS
from curate.records import (
    INPUT_META,
    REJECT_SCHEMA,
    Record,
    Source,
    content_key,
    record_id,
    to_frame,
)

DETECT_SAMPLE = 200
"""How many readable rows shape detection looks at."""

BATCH_ROWS = 5_000
"""Records converted to a frame at a time, so at most this many are Python objects at once."""


@dataclass
class ReadResult:
    """A file read into canonical records, with every unreadable row kept as a reject."""

    path: Path
    file_type: str
    shape: str
    records: pl.DataFrame
    """A frame of ``RECORD_SCHEMA`` in file order."""
    rejects: pl.DataFrame
    """A frame of ``REJECT_SCHEMA``: file, row, line, reason, detail, raw excerpt."""
    n_rows: int
    """Rows in the file; always ``len(records) + len(rejects)``."""
    sha256: str

    @property
    def reject_reasons(self) -> dict[str, int]:
        """Rejected rows counted by reason code."""
        return dict(sorted(Counter(self.rejects["reason"].to_list()).items()))


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_dataset(
    path: str | Path,
    shape: str | None = None,
    file_type: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReadResult:
    """Read a dataset file (or a Hugging Face ``save_to_disk`` folder) into canonical records.

    Rows stream through in batches: the raw rows of the file are never all held at once.

    Args:
        path: a JSONL, JSON array, Parquet, CSV, TSV or Arrow file, optionally gzip-compressed,
            or a folder written by ``datasets.Dataset.save_to_disk``.
        shape: force a row shape (see ``curate.io.shapes``) instead of detecting it.
        file_type: force the file type instead of detecting it from the name and content.
        progress: called with the number of rows read so far, now and then.

    Raises:
        InputError: the file does not exist, or ``shape``/``file_type`` is unknown.
        DatasetFormatError: the file is not a dataset (binary, unknown shape, broken JSON array),
            or a forced ``shape`` rejects every row.
    """
    path = Path(path)
    if shape is not None and shape not in SHAPES_BY_NAME:
        raise InputError(f"unknown format {shape!r}; expected one of: {', '.join(SHAPES_BY_NAME)}")
    if is_hf_disk(path):
        kind, raw_rows = "arrow", iter_hf_disk(path)
    elif not path.is_file():
        raise InputError(f"{path}: no such file")
    else:
        if file_type is not None and file_type not in (*FILE_TYPES, "arrow"):
            raise InputError(
                f"unknown file type {file_type!r}; expected one of: {', '.join(FILE_TYPES)}, arrow"
            )
        kind = file_type or ("arrow" if is_arrow_file(path) else detect_file_type(path))
        raw_rows = iter_arrow(path) if kind == "arrow" else iter_rows(path, kind)
    converted = convert_rows(raw_rows, str(path), shape=shape, progress=progress)
    return ReadResult(
        path=path,
        file_type=kind,
        shape=converted.shape,
        records=converted.records,
        rejects=converted.rejects,
        n_rows=converted.n_rows,
        sha256=file_sha256(path) if path.is_file() else folder_sha256(path),
    )


@dataclass
class Converted:
    """Raw rows made into records and rejects."""

    shape: str
    records: pl.DataFrame
    rejects: pl.DataFrame
    n_rows: int


def convert_rows(
    raw_rows: Iterable[RawRow],
    name: str,
    shape: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Converted:
    """The one row pipeline every source goes through: shape detection on the first readable
    rows, conversion in batches of ``BATCH_ROWS``, rejects kept with their reasons.

    Raises:
        DatasetFormatError: no shape matches, or a forced ``shape`` rejects every row.
    """
    rows = iter(raw_rows)
    head: list[RawRow] = []
    readable = 0
    for raw in rows:
        head.append(raw)
        readable += raw.value is not None
        if readable >= DETECT_SAMPLE:
            break
    chosen = SHAPES_BY_NAME[shape] if shape else _detect(name, head)
    batcher = _Batcher(name, chosen)
    n_rows = 0
    for raw in itertools.chain(head, rows):
        if progress and n_rows % 10_000 == 0:
            progress(n_rows)
        batcher.add(raw)
        n_rows += 1
    if progress:
        progress(n_rows)
    records, rejects = batcher.frames()
    if shape and n_rows and not len(records):
        first = rejects.row(0, named=True)
        raise DatasetFormatError(
            f"{name}: --format {shape} rejects every row ({n_rows:,}); the first, row "
            f"{first['row']}{_at_line(first['line'])}: {first['reason']}: {first['detail']}"
        )
    return Converted(chosen.name, records, rejects, n_rows)


def _at_line(line: int | None) -> str:
    return "" if line is None else f" (line {line})"


class _Batcher:
    """Converts rows of one shape, holding at most ``BATCH_ROWS`` records as Python objects."""

    def __init__(self, name: str, shape: Shape) -> None:
        self.name, self.shape = name, shape
        self.records: list[Record] = []
        self.rejects: list[dict[str, object]] = []
        self.batches: list[pl.DataFrame] = []
        self.seen: Counter[bytes] = Counter()

    def add(self, raw: RawRow) -> None:
        if raw.value is None:
            self.rejects.append(
                _reject(self.name, raw.row, raw.line, raw.reason, raw.detail, raw.raw)
            )
            return
        try:
            made = self.shape.parts(raw.value)
        except RowError as e:
            self.rejects.append(
                _reject(self.name, raw.row, raw.line, e.reason, e.detail, _raw(raw.value))
            )
            return
        if not made:
            self.rejects.append(
                _reject(
                    self.name,
                    raw.row,
                    raw.line,
                    "no_records",
                    "the row holds no record",
                    _raw(raw.value),
                )
            )
            return
        for parts in made:
            self.records.append(self._record(parts, raw))
        if len(self.records) >= BATCH_ROWS:
            self.batches.append(to_frame(self.records))
            self.records = []

    def _record(self, parts: Parts, raw: RawRow) -> Record:
        key = content_key(
            parts.kind,
            parts.prompt,
            parts.completion,
            parts.chosen,
            parts.rejected,
            parts.label,
            parts.tools,
        )
        digest = hashlib.sha256(key.encode("utf-8")).digest()
        rid = record_id(key, self.seen[digest])
        self.seen[digest] += 1
        return Record(
            id=rid,
            kind=parts.kind,  # type: ignore[arg-type]
            prompt=parts.prompt,
            completion=parts.completion,
            chosen=parts.chosen,
            rejected=parts.rejected,
            label=parts.label,
            tools=parts.tools,
            source=Source(file=self.name, row=raw.row, line=raw.line),
            meta=_own_columns_removed(parts.meta, rid, parts.kind),
        )

    def frames(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        if self.records or not self.batches:
            self.batches.append(to_frame(self.records))
        records = (
            pl.concat(self.batches, how="vertical") if len(self.batches) > 1 else self.batches[0]
        )
        return records, pl.DataFrame(self.rejects, schema=REJECT_SCHEMA)


def _own_columns_removed(meta: dict[str, object], rid: str, kind: str) -> dict[str, object]:
    """A file tunesmith wrote carries the record's own ``id`` and ``kind`` as columns; they
    restate the record, so they are not kept as input columns (a user's own ``id`` is, and the
    writer wrote it back as ``input_id``: it reads back under its own name)."""
    extra = meta.get(INPUT_META)
    if not isinstance(extra, dict):
        return meta
    ours = {"id": rid, "kind": kind}
    kept = {k: v for k, v in extra.items() if not (k in ours and v == ours[k])}
    restated = len(kept) < len(extra)
    if restated:
        for name in WRITTEN_COLUMNS:
            if f"input_{name}" in kept and name not in kept:
                kept[name] = kept.pop(f"input_{name}")
    if kept == extra:
        return meta
    out = {k: v for k, v in meta.items() if k != INPUT_META}
    return {**out, INPUT_META: kept} if kept else out


def _detect(name: str, head: list[RawRow]) -> Shape:
    sample = [r.value for r in head if r.value is not None][:DETECT_SAMPLE]
    found = detect_shape(sample)
    if found is None:
        keys = sorted({k for row in sample[:20] for k in row})[:12]
        seen = f"; its rows have keys {keys}" if sample else "; it has no readable object rows"
        raise DatasetFormatError(
            f"{name}: not a dataset tunesmith recognises{seen}. Expected one of: "
            f"{expected_shapes()} (or force one with --format)"
        )
    return found


def _raw(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)[:300]


def _reject(
    file: str, row: int, line: int | None, reason: str | None, detail: str | None, raw: str | None
) -> dict[str, object]:
    return {
        "source_file": file,
        "row": row,
        "line": line,
        "reason": reason or "unreadable",
        "detail": detail or "",
        "raw": raw,
    }


def read_rows(rows: Any, name: str = "frame", shape: str | None = None) -> Converted:
    """Raw rows held in memory — a pandas or polars DataFrame, a Hugging Face ``Dataset``, or
    any iterable of dicts — through the same row pipeline as a file (shape detection, rejects,
    extra columns kept).

    Raises:
        InputError: ``rows`` is none of these.
        DatasetFormatError: as ``convert_rows``.
    """
    if shape is not None and shape not in SHAPES_BY_NAME:
        raise InputError(f"unknown format {shape!r}; expected one of: {', '.join(SHAPES_BY_NAME)}")
    return convert_rows(_raw_rows(_dicts(rows)), name, shape=shape)


def _dicts(rows: Any) -> Iterable[dict[str, Any]]:
    if isinstance(rows, pl.DataFrame):
        return rows.iter_rows(named=True)
    module = type(rows).__module__.split(".")[0]
    if module == "pandas":
        import math

        def clean(value: Any) -> Any:  # pandas spells a missing value NaN
            return None if isinstance(value, float) and math.isnan(value) else value

        return ({k: clean(v) for k, v in r.items()} for r in rows.to_dict(orient="records"))
    if module == "datasets" or isinstance(rows, list | tuple):
        return iter(rows)
    raise InputError(
        f"cannot read rows from a {type(rows).__name__}: pass a file path, a pandas or polars "
        "DataFrame, a Hugging Face Dataset or a list of dicts"
    )


def _raw_rows(dicts: Iterable[dict[str, Any]]) -> Iterable[RawRow]:
    for i, value in enumerate(dicts):
        if isinstance(value, dict):
            yield RawRow(i, None, value)
        else:
            kind = type(value).__name__
            yield RawRow(
                i, None, None, "not_an_object", f"the row is a {kind}, not an object", None
            )
