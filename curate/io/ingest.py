"""Record a dataset in the store: a file, a ``save_to_disk`` folder or a folder (or URL) of
shards, read as one dataset with its records and rejects."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from curate.errors import InputError
from curate.io.arrow_files import is_hf_disk
from curate.io.read import ReadResult, read_dataset
from curate.io.shards import is_sharded, read_shards
from curate.store.store import DatasetInfo, Store


def read_source(
    source: str | Path,
    shape: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReadResult:
    """A file, a ``save_to_disk`` folder, or a folder (or fsspec URL) of shards, read as one
    dataset; ``ingest`` and ``curate`` accept the same sources through this.

    Raises:
        InputError, DatasetFormatError: as ``read_dataset``; NotFoundError: no such folder.
    """
    path = Path(str(source))
    if "://" not in str(source) and (path.is_file() or is_hf_disk(path)):
        return read_dataset(path, shape=shape, progress=progress)
    if not is_sharded(source):
        raise InputError(f"{source}: no such file or folder")
    shards = read_shards(source, shape=shape)
    digest = hashlib.sha256("\n".join(shards.sha256s).encode()).hexdigest()
    return ReadResult(
        path=path,
        file_type="shards",
        shape=shards.shape,
        records=shards.records,
        rejects=shards.rejects,
        n_rows=len(shards.records.select("source_file", "row").unique()) + len(shards.rejects),
        sha256=digest,
    )


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
    result = read_source(path, shape=shape, progress=progress)
    dataset_id = hashlib.sha256(
        f"{result.sha256}:{result.shape}:{result.file_type}:{owner or ''}".encode()
    ).hexdigest()[:16]
    info = DatasetInfo(
        id=dataset_id,
        name=name or Path(str(path).rstrip("/")).name.split(".")[0],
        path=str(path) if "://" in str(path) else str(Path(path).resolve()),
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
