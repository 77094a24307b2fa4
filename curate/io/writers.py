"""Write records in TRL's conversational format (Parquet or JSONL).

The files load with ``datasets.load_dataset("parquet"|"json", ...)`` and TRL consumes them
without conversion: SFT files have ``prompt`` and ``completion``; preference files ``prompt``,
``chosen`` and ``rejected``; each message is ``{role, content}``. ``id`` and ``meta`` (JSON text)
travel along so a curated set can be traced back to its findings.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curate.errors import InputError


def trl_columns(frame: pl.DataFrame) -> list[str]:
    """The columns a TRL file of these records has (by the kinds present)."""
    kinds = set(frame["kind"].unique().to_list()) if len(frame) else {"sft"}
    answers = []
    if "sft" in kinds:
        answers.append("completion")
    if "preference" in kinds:
        answers += ["chosen", "rejected"]
    extra = ["kind"] if len(kinds) > 1 else []
    return ["id", *extra, "prompt", *answers, "meta"]


def write_records(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write a frame of ``RECORD_SCHEMA`` to ``.parquet`` or ``.jsonl`` in TRL's format."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = frame.select(trl_columns(frame))
    if path.suffix == ".parquet":
        out.write_parquet(path, statistics=False)
    elif path.suffix in (".jsonl", ".ndjson"):
        out.write_ndjson(path)
    else:
        raise InputError(f"{path}: write .parquet or .jsonl")
    return path
