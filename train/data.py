"""Records in, TRL's conversational columns out: the only data conversion the trainer needs."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from curate import RECORD_SCHEMA, DatasetFormatError, InputError

KIND_FOR_METHOD = {"sft": "sft", "dpo": "preference"}
ANSWERS_FOR_METHOD = {"sft": ("completion",), "dpo": ("chosen", "rejected")}


@dataclass
class TrainingData:
    """The records a run trains on, as plain rows in TRL's conversational format."""

    rows: list[dict[str, Any]]
    """``{"id", "prompt", "completion"}`` (SFT) or ``{"id", "prompt", "chosen", "rejected"}`` rows."""
    n_input: int
    """Records offered (after reading; unreadable rows are counted in ``excluded``)."""
    excluded: dict[str, int] = field(default_factory=dict)
    """Records (or unreadable rows) left out, counted by reason code."""
    excluded_ids: dict[str, list[str]] = field(default_factory=dict)
    """The first few ids left out for each reason, for the error message."""
    source: str = "frame"
    """The file path, or ``frame`` for an in-memory frame."""

    @property
    def sha256(self) -> str:
        """Hash of the record ids in order; ids are content hashes, so this is the data's hash."""
        digest = hashlib.sha256()
        for row in self.rows:
            digest.update(row["id"].encode())
            digest.update(b"\n")
        return digest.hexdigest()


def load_records(dataset: str | Path | pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int], str]:
    """A dataset argument to a frame of records, the unreadable rows by reason, and its name.

    Raises:
        InputError: the argument is neither a path nor a frame of ``RECORD_SCHEMA``.
    """
    if isinstance(dataset, pl.DataFrame):
        missing = [c for c in RECORD_SCHEMA if c not in dataset.columns]
        if missing:
            raise InputError(f"the dataset frame lacks record columns: {', '.join(missing)}")
        return dataset, {}, "frame"
    if isinstance(dataset, str | Path):
        from curate import read_dataset

        result = read_dataset(dataset)
        rejects = {f"unreadable:{k}": v for k, v in result.reject_reasons.items()}
        return result.records, rejects, str(dataset)
    raise InputError(
        f"dataset must be a file path or a frame of records, not {type(dataset).__name__}"
    )


def _messages(value: list[dict[str, str]] | None) -> list[dict[str, str]]:
    return [{"role": m["role"], "content": m["content"]} for m in (value or [])]


def _problem(method: str, row: dict[str, Any]) -> str | None:
    """The reason a record cannot be trained with ``method``, or ``None``."""
    if row["kind"] != KIND_FOR_METHOD[method]:
        return f"wrong_kind_{row['kind']}"
    prompt = row["prompt"] or []
    if not prompt or prompt[-1]["role"] not in ("user", "tool"):
        return "prompt_not_ending_with_user"
    for column in ANSWERS_FOR_METHOD[method]:
        answer = row[column] or []
        if not answer:
            return f"empty_{column}"
        if any(m["role"] != "assistant" for m in answer):
            return f"non_assistant_{column}"
        if not any(m["content"].strip() for m in answer):
            return f"blank_{column}"
    return None


def prepare(dataset: str | Path | pl.DataFrame, method: str) -> TrainingData:
    """Read a dataset and keep the records ``method`` can train on, counting the rest by reason.

    Raises:
        DatasetFormatError: no record fits the method (the message says what the data holds).
    """
    frame, unreadable, source = load_records(dataset)
    excluded: Counter[str] = Counter(unreadable)
    excluded_ids: dict[str, list[str]] = {}
    rows: list[dict[str, Any]] = []
    for row in frame.iter_rows(named=True):
        reason = _problem(method, row)
        if reason:
            excluded[reason] += 1
            excluded_ids.setdefault(reason, [])
            if len(excluded_ids[reason]) < 5:
                excluded_ids[reason].append(row["id"])
            continue
        out = {"id": row["id"], "prompt": _messages(row["prompt"])}
        for column in ANSWERS_FOR_METHOD[method]:
            out[column] = _messages(row[column])
        rows.append(out)
    if not rows:
        kinds = dict(Counter(frame["kind"].to_list())) if len(frame) else {}
        want = "prompt + completion" if method == "sft" else "prompt + chosen + rejected"
        raise DatasetFormatError(
            f"{source}: no record can be trained with method={method!r} (it needs {want} records); "
            f"the data holds {kinds or 'no records'}, left out: {dict(excluded)}"
        )
    return TrainingData(
        rows=rows,
        n_input=len(frame) + sum(unreadable.values()),
        excluded=dict(excluded),
        excluded_ids=excluded_ids,
        source=source,
    )


def split(data: TrainingData, eval_fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """A deterministic train/eval split; the eval side is empty when it would hold < 1 record."""
    n_eval = int(len(data.rows) * eval_fraction)
    if n_eval < 1 or len(data.rows) - n_eval < 1:
        return data.rows, []
    # Order by a seeded hash of the id: stable across runs and independent of file order.
    keyed = sorted(
        data.rows, key=lambda r: hashlib.sha256(f"{seed}:{r['id']}".encode()).hexdigest()
    )
    return keyed[n_eval:], keyed[:n_eval]


def to_hf(rows: list[dict[str, Any]]):
    """Rows to a ``datasets.Dataset`` (the ``id`` column is dropped: TRL needs only messages)."""
    from datasets import Dataset

    return Dataset.from_list([{k: v for k, v in r.items() if k != "id"} for r in rows])
