"""Sharded input and output: a folder (or ``file://`` URL) of shards reads as one dataset."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import curate
from curate.errors import NotFoundError
from curate.io.shards import read_shards, write_shards


def _alpaca(shared_data: Path, n: int) -> list[dict]:
    return json.loads((shared_data / "alpaca_random_9k.json").read_text())[:n]


def _write(folder: Path, name: str, rows: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_folder_of_shards_reads_as_one_dataset(shared_data: Path, tmp_path: Path) -> None:
    rows = _alpaca(shared_data, 300)
    single = tmp_path / "single.jsonl"
    _write(tmp_path, "single.jsonl", rows)
    for i in range(3):
        _write(tmp_path / "shards", f"part-{i:05d}.jsonl", rows[i * 100 : (i + 1) * 100])
    (tmp_path / "shards" / "notes.txt").write_text("not a shard")

    whole = curate.read_dataset(single).records
    sharded = read_shards(tmp_path / "shards")
    assert len(sharded.shards) == 3  # notes.txt is not a dataset file
    assert sharded.records["id"].to_list() == whole["id"].to_list()
    assert sharded.records["source_file"].n_unique() == 3


def test_copies_in_different_shards_get_distinct_ids(shared_data: Path, tmp_path: Path) -> None:
    rows = _alpaca(shared_data, 5)
    _write(tmp_path, "a.jsonl", rows)
    _write(tmp_path, "b.jsonl", rows[:2])  # two exact copies of rows in a.jsonl
    records = read_shards(tmp_path).records
    assert len(records) == 7
    assert records["id"].n_unique() == 7
    # The first occurrence keeps the id a single file gives it.
    alone = curate.read_dataset(tmp_path / "a.jsonl").records
    assert records["id"].head(5).to_list() == alone["id"].to_list()


def test_file_url_round_trip_and_curate(shared_data: Path, tmp_path: Path, home: Path) -> None:
    records = curate.read_dataset(shared_data / "alpaca_en_demo.json").records
    url = f"file://{tmp_path}/out"
    written = write_shards(records, url, rows_per_shard=400)
    assert [Path(w).name for w in written] == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    back = read_shards(url)
    assert back.shards[0] == f"{tmp_path}/out/part-00000.parquet"  # local: a plain path
    assert len(back.records) == len(records)
    assert back.records["prompt"].to_list() == records["prompt"].to_list()

    # Only the dedup steps: the embedding-based checks are tested elsewhere and slow here.
    config = curate.CurateConfig.from_data(
        {
            name: {"enabled": False}
            for name, field in curate.CurateConfig.model_fields.items()
            if name not in ("exact", "near")
            and "enabled" in getattr(field.annotation, "model_fields", {})
        }
    )
    result = curate.run(url, config, out_dir=tmp_path / "curated")
    assert result.n_records == len(records)
    assert result.n_kept + result.n_dropped == result.n_records

    jsonl = write_shards(records.head(10), tmp_path / "j", rows_per_shard=4, fmt="jsonl")
    assert len(jsonl) == 3
    assert sum(len(pl.read_ndjson(p)) for p in jsonl) == 10


def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFoundError, match=r"no \.parquet"):
        read_shards(tmp_path / "empty")
