"""Arrow sources: ``.arrow`` files (IPC stream or file format) and the folders that
``datasets.Dataset.save_to_disk`` writes (``state.json`` naming the ``.arrow`` data files).

Read with pyarrow alone (no ``datasets`` import), batch by batch from a memory map, so memory
does not grow with the data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from curate.errors import DatasetFormatError
from curate.io.files import RawRow

_ARROW_MAGIC = b"ARROW1"


def is_hf_disk(path: Path) -> bool:
    """Whether ``path`` is a folder written by ``save_to_disk`` (a Dataset or a DatasetDict)."""
    return path.is_dir() and (
        (path / "state.json").is_file() or (path / "dataset_dict.json").is_file()
    )


def is_arrow_file(path: Path) -> bool:
    """Whether a file is Arrow IPC, by its name or its first bytes (file format magic, or a
    stream's continuation marker)."""
    if path.suffix == ".arrow":
        return True
    with open(path, "rb") as f:
        head = f.read(8)
    return head.startswith(_ARROW_MAGIC)


def _data_files(folder: Path) -> list[Path]:
    if (folder / "dataset_dict.json").is_file() and not (folder / "state.json").is_file():
        splits = json.loads((folder / "dataset_dict.json").read_text()).get("splits", [])
        raise DatasetFormatError(
            f"{folder}: a DatasetDict with splits {splits}; pass one split's folder, "
            f"e.g. {folder / (splits[0] if splits else 'train')}"
        )
    try:
        state = json.loads((folder / "state.json").read_text())
        files = [folder / f["filename"] for f in state["_data_files"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DatasetFormatError(f"{folder}/state.json: not a save_to_disk state file ({e})") from e
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise DatasetFormatError(f"{folder}: data files named in state.json are missing: {missing}")
    return files


def iter_hf_disk(folder: Path) -> Iterator[RawRow]:
    """Every row of a ``save_to_disk`` folder, in order across its data files."""
    row = 0
    for file in _data_files(folder):
        for raw in iter_arrow(file, start=row):
            yield raw
            row += 1


def iter_arrow(path: Path, start: int = 0) -> Iterator[RawRow]:
    """Every row of an Arrow IPC file (stream or file format), numbered from ``start``."""
    import pyarrow as pa

    try:
        source = pa.memory_map(str(path), "r")
        try:
            reader = pa.ipc.open_stream(source)
            batches = iter(reader)
        except pa.ArrowInvalid:
            source = pa.memory_map(str(path), "r")
            file_reader = pa.ipc.open_file(source)
            batches = (file_reader.get_batch(i) for i in range(file_reader.num_record_batches))
        row = start
        for batch in batches:
            for value in batch.to_pylist():
                yield RawRow(row, None, value)
                row += 1
    except (pa.ArrowInvalid, OSError) as e:
        raise DatasetFormatError(f"{path}: not a readable Arrow file ({e})") from e


def folder_sha256(folder: Path) -> str:
    """sha256 over a ``save_to_disk`` folder's data files, in order."""
    digest = hashlib.sha256()
    for file in _data_files(folder):
        with open(file, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()
