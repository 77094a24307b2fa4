"""Read a dataset file into canonical records and rejects, and record it in the store."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from curate.errors import DatasetFormatError, InputError
from curate.io.files import FILE_TYPES, detect_file_type, iter_rows
from curate.io.shapes import SHAPES_BY_NAME, RowError, Shape, detect_shape, expected_shapes
from curate.records import REJECT_SCHEMA, Record, Source, content_key, record_id, to_frame
from curate.store.store import DatasetInfo, Store

DETECT_SAMPLE = 200
"""How many readable rows shape detection looks at."""


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
    """Read a dataset file into canonical records.

    Args:
        path: a JSONL, JSON array, Parquet, CSV or TSV file, optionally gzip-compressed.
        shape: force a row shape (see ``curate.io.shapes``) instead of detecting it.
        file_type: force the file type instead of detecting it from the name and content.
        progress: called with the number of rows read so far, now and then.

    Raises:
        InputError: the file does not exist, or ``shape``/``file_type`` is unknown.
        DatasetFormatError: the file is not a dataset (binary, unknown shape, broken JSON array).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if shape is not None and shape not in SHAPES_BY_NAME:
        raise InputError(f"unknown format {shape!r}; expected one of: {', '.join(SHAPES_BY_NAME)}")
    if file_type is not None and file_type not in FILE_TYPES:
        raise InputError(
            f"unknown file type {file_type!r}; expected one of: {', '.join(FILE_TYPES)}"
        )
    kind = file_type or detect_file_type(path)
    raw_rows = list(iter_rows(path, kind))
    chosen = SHAPES_BY_NAME[shape] if shape else _detect(path, raw_rows)

    records: list[Record] = []
    rejects: list[dict[str, object]] = []
    seen: Counter[str] = Counter()
    name = str(path)
    for raw in raw_rows:
        if progress and raw.row % 10_000 == 0:
            progress(raw.row)
        if raw.value is None:
            rejects.append(_reject(name, raw.row, raw.line, raw.reason, raw.detail, raw.raw))
            continue
        try:
            parts = chosen.convert(raw.value)
        except RowError as e:
            rejects.append(_reject(name, raw.row, raw.line, e.reason, e.detail, _raw(raw.value)))
            continue
        key = content_key(parts.kind, parts.prompt, parts.completion, parts.chosen, parts.rejected)
        records.append(
            Record(
                id=record_id(key, seen[key]),
                kind=parts.kind,  # type: ignore[arg-type]
                prompt=parts.prompt,
                completion=parts.completion,
                chosen=parts.chosen,
                rejected=parts.rejected,
                source=Source(file=name, row=raw.row, line=raw.line),
                meta=parts.meta or {},
            )
        )
        seen[key] += 1
    if progress:
        progress(len(raw_rows))
    return ReadResult(
        path=path,
        file_type=kind,
        shape=chosen.name,
        records=to_frame(records),
        rejects=pl.DataFrame(rejects, schema=REJECT_SCHEMA),
        n_rows=len(raw_rows),
        sha256=file_sha256(path),
    )


def _detect(path: Path, raw_rows: list) -> Shape:
    sample = [r.value for r in raw_rows if r.value is not None][:DETECT_SAMPLE]
    found = detect_shape(sample)
    if found is None:
        keys = sorted({k for row in sample[:20] for k in row})[:12]
        seen = f"; its rows have keys {keys}" if sample else "; it has no readable object rows"
        raise DatasetFormatError(
            f"{path}: not a dataset tunesmith recognises{seen}. Expected one of: "
            f"{expected_shapes()} (or force one with --format)"
        )
    return found


def _raw(value: dict) -> str:
    import json

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


def ingest(
    path: str | Path,
    shape: str | None = None,
    name: str | None = None,
    store: Store | None = None,
    owner: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> DatasetInfo:
    """Read a file and record it in the store with its records and rejects.

    Re-ingesting the same bytes read the same way returns the same dataset (same id, no new
    rows).
    """
    result = read_dataset(path, shape=shape, progress=progress)
    dataset_id = hashlib.sha256(
        f"{result.sha256}:{result.shape}:{result.file_type}:{owner or ''}".encode()
    ).hexdigest()[:16]
    info = DatasetInfo(
        id=dataset_id,
        name=name or Path(path).name.split(".")[0],
        path=str(Path(path).resolve()),
        content_sha256=result.sha256,
        shape=result.shape,
        file_type=result.file_type,
        n_rows=result.n_rows,
        n_records=len(result.records),
        n_rejects=len(result.rejects),
        reject_reasons=result.reject_reasons,
        owner=owner,
        created_at=datetime.now(UTC).replace(tzinfo=None),
    )
    own = store is None
    store = store or Store()
    try:
        return store.add_dataset(info, result.records, result.rejects)
    finally:
        if own:
            store.close()
