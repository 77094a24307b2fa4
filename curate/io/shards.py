"""Sharded datasets: a folder of Parquet/JSONL/JSON/CSV files read as one dataset, and records
written as a folder of shards; local paths or any fsspec URL (``file://``, ``s3://``, ``gs://``,
... where the environment has the filesystem package and the credentials).

Shards are read in name order with the ordinary reader (``curate.read_dataset``), so each keeps
its own shape detection, rejects and ``source_file``/``row``; remote shards are copied to a
temporary file one at a time. Record ids stay content hashes: when the same content occurs in
several shards, its k-th occurrence across the whole dataset gets the k-th id, as within a file.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from curate.errors import InputError, NotFoundError

SHARD_SUFFIXES = (".parquet", ".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".arrow")
"""File types a shard may have (each optionally ``.gz``)."""


@dataclass
class ShardedRead:
    """All shards of a dataset, read as one."""

    records: pl.DataFrame
    """Records of every shard (``RECORD_SCHEMA``), in shard order then row order."""
    rejects: pl.DataFrame
    """Rejected rows of every shard (``REJECT_SCHEMA``)."""
    shards: list[str]
    """The shards read, as paths or URLs."""
    sha256s: list[str]
    """Each shard's content hash, in order."""
    shape: str
    """The row shape (``mixed`` where shards differ)."""


def is_sharded(source: str | Path) -> bool:
    """Whether a source names a folder of shards: a local folder, or any URL."""
    text = str(source)
    return "://" in text or Path(text).is_dir()


def list_shards(source: str | Path) -> tuple[Any, list[str]]:
    """The filesystem and the dataset files under a folder or URL, in name order.

    Raises:
        NotFoundError: the folder holds no dataset files.
    """
    from fsspec.core import url_to_fs

    fs, root = url_to_fs(str(source))
    if not fs.exists(root):
        raise NotFoundError(f"{source}: no such folder")
    names = [root] if fs.isfile(root) else sorted(fs.find(root))
    files = [n for n in names if n.removesuffix(".gz").endswith(SHARD_SUFFIXES)]
    if not files:
        raise NotFoundError(f"{source}: no {', '.join(SHARD_SUFFIXES)} files in it")
    return fs, files


def read_shards(source: str | Path, shape: str | None = None) -> ShardedRead:
    """Read every shard under a folder or URL into one frame of records.

    Raises:
        NotFoundError: no dataset files there.
        DatasetFormatError: a shard is not a dataset (the message names it).
    """
    from curate.io.read import read_dataset
    from curate.records import REJECT_SCHEMA

    fs, files = list_shards(source)
    local = "file" in _protocols(fs)
    records, rejects, shown, hashes, shapes = [], [], [], [], []
    for name in files:
        url = name if local else fs.unstrip_protocol(name)
        if local:
            read = read_dataset(name, shape=shape)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                copy = Path(tmp) / Path(name).name
                fs.get(name, str(copy))
                read = read_dataset(copy, shape=shape)
            read.records = read.records.with_columns(pl.lit(url).alias("source_file"))
            read.rejects = read.rejects.with_columns(pl.lit(url).alias("source_file"))
        records.append(read.records)
        rejects.append(read.rejects.select(list(REJECT_SCHEMA)))
        shown.append(url)
        hashes.append(read.sha256)
        shapes.append(read.shape)
    frame = pl.concat(records, how="vertical")
    shape_name = shapes[0] if len(set(shapes)) == 1 else "mixed"
    return ShardedRead(
        _unique_ids(frame), pl.concat(rejects, how="vertical"), shown, hashes, shape_name
    )


def write_shards(
    frame: pl.DataFrame, dest: str | Path, rows_per_shard: int = 100_000, fmt: str = "parquet"
) -> list[str]:
    """Write records in TRL's format as shards ``part-00000.<fmt>``, ... under a folder or URL.

    Args:
        frame: records (``RECORD_SCHEMA``).
        dest: a local folder or an fsspec URL (created if missing).
        rows_per_shard: records per file.
        fmt: ``parquet`` or ``jsonl``.

    Returns:
        The files written, as paths or URLs.
    """
    from fsspec.core import url_to_fs

    from curate.io.writers import write_records

    if fmt not in ("parquet", "jsonl"):
        raise InputError(f"shards are parquet or jsonl, not {fmt!r}")
    if rows_per_shard < 1:
        raise InputError("rows_per_shard must be at least 1")
    fs, root = url_to_fs(str(dest))
    fs.makedirs(root, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, lo in enumerate(range(0, max(len(frame), 1), rows_per_shard)):
            name = f"part-{i:05d}.{fmt}"
            local = write_records(frame.slice(lo, rows_per_shard), Path(tmp) / name)
            target = f"{root.rstrip('/')}/{name}"
            fs.put_file(str(local), target)
            written.append(target if "file" in _protocols(fs) else fs.unstrip_protocol(target))
    return written


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def _unique_ids(frame: pl.DataFrame) -> pl.DataFrame:
    """Renumber exact copies that sit in different shards (each shard numbered its own)."""
    if frame["id"].n_unique() == len(frame):
        return frame
    from curate.records import content_key, from_frame, record_id

    seen: Counter[str] = Counter()
    ids = []
    for rec in from_frame(frame):
        key = content_key(
            rec.kind, rec.prompt, rec.completion, rec.chosen, rec.rejected, rec.label, rec.tools
        )
        ids.append(record_id(key, seen[key]))
        seen[key] += 1
    return frame.with_columns(pl.Series("id", ids, dtype=pl.Utf8))
