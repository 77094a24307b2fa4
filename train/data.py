"""Records in, trainer rows out: the only data conversion the trainer needs.

SFT rows are whole conversations (``messages`` + ``tools``) that ``train.chat`` tokenizes with a
mask over every assistant turn; DPO and KTO rows keep TRL's conversational prompt/answer columns
(plus ``label`` for KTO), which TRL renders itself.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from curate import RECORD_SCHEMA, DatasetFormatError, InputError, Message
from train.chat import template_messages, tokenize_conversation

KIND_FOR_METHOD = {"sft": "sft", "dpo": "preference", "kto": "kto"}
ANSWERS_FOR_METHOD = {"sft": ("completion",), "dpo": ("chosen", "rejected"), "kto": ("completion",)}
NEEDS = {
    "sft": "prompt + completion",
    "dpo": "prompt + chosen + rejected",
    "kto": "prompt + completion + label",
}


@dataclass
class TrainingData:
    """The records a run trains on, as plain rows in template shape."""

    rows: list[dict[str, Any]]
    """SFT: ``{"id", "messages", "tools"}`` (the whole conversation); DPO: ``{"id", "prompt",
    "chosen", "rejected", "tools"}``; KTO: ``{"id", "prompt", "completion", "label", "tools"}``.
    Messages are chat-template dicts (``train.chat.template_message``); ``tools`` is the parsed
    definitions or ``None``."""
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


def messages_of(value: list[dict[str, Any]] | None) -> list[Message]:
    """Rows of the record frame's message column as messages."""
    return [Message.from_row(m) for m in value or []]


def _says_something(message: Message) -> bool:
    return bool(message.text.strip() or message.tool_calls)


def _problem(method: str, row: dict[str, Any]) -> str | None:
    """The reason a record cannot be trained with ``method``, or ``None``."""
    if row["kind"] != KIND_FOR_METHOD[method]:
        return f"wrong_kind_{row['kind']}"
    prompt = messages_of(row["prompt"])
    if not prompt or prompt[-1].role not in ("user", "tool"):
        return "prompt_not_ending_with_user"
    if any(m.content is None and not m.tool_calls for m in prompt):
        return "empty_prompt_message"
    for column in ANSWERS_FOR_METHOD[method]:
        answer = messages_of(row[column])
        if not answer:
            return f"empty_{column}"
        if any(m.role != "assistant" for m in answer):
            return f"non_assistant_{column}"
        if not any(_says_something(m) for m in answer):
            return f"blank_{column}"
    if method == "kto" and row.get("label") is None:
        return "missing_label"
    return None


def _tools(row: dict[str, Any]) -> list[dict[str, Any]] | None:
    return json.loads(row["tools"]) if row.get("tools") else None


def _row(method: str, row: dict[str, Any]) -> dict[str, Any]:
    """A frame row as a trainer row (see ``TrainingData.rows``)."""
    prompt = template_messages(messages_of(row["prompt"]))
    out: dict[str, Any] = {"id": row["id"]}
    if method == "sft":
        # The whole conversation: earlier assistant turns are trained too, not only the last.
        out["messages"] = prompt + template_messages(messages_of(row["completion"]))
    else:
        out["prompt"] = prompt
        for column in ANSWERS_FOR_METHOD[method]:
            out[column] = template_messages(messages_of(row[column]))
    if method == "kto":
        out["label"] = bool(row["label"])
    out["tools"] = _tools(row)
    return out


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
        rows.append(_row(method, row))
    if not rows:
        kinds = dict(Counter(frame["kind"].to_list())) if len(frame) else {}
        raise DatasetFormatError(
            f"{source}: no record can be trained with method={method!r} (it needs "
            f"{NEEDS[method]} records); the data holds {kinds or 'no records'}, "
            f"left out: {dict(excluded)}"
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


def to_hf(rows: list[dict[str, Any]], method: str, tokenizer=None):
    """Rows to a ``datasets.Dataset`` for TRL (the ``id`` column is dropped).

    SFT: pre-tokenized ``input_ids`` + ``assistant_masks`` (every assistant turn trained; TRL
    builds the labels from the mask, truncates and drops fully masked rows). DPO/KTO: the message
    columns as ``Json`` features, so tool calls of differing shapes reach the template as given
    (Arrow would otherwise merge every row's argument keys into one struct); ``tools`` as JSON text,
    which TRL parses.
    """
    from datasets import Dataset, Features, Json, Value

    if method == "sft":
        if tokenizer is None:
            raise ValueError("SFT rows are tokenized here: pass the tokenizer")
        encoded = [tokenize_conversation(tokenizer, r["messages"], r["tools"]) for r in rows]
        return Dataset.from_list(
            [{"input_ids": t.input_ids, "assistant_masks": t.assistant_masks} for t in encoded]
        )
    columns = ["prompt", *ANSWERS_FOR_METHOD[method]]
    features: dict[str, Any] = {c: Json() for c in columns}
    if method == "kto":
        features["label"] = Value("bool")
    out = []
    for r in rows:
        item = {c: r[c] for c in features}
        out.append(item)
    if any(r["tools"] for r in rows):
        features["tools"] = Value("string")
        for item, r in zip(out, rows, strict=True):
            item["tools"] = json.dumps(r["tools"]) if r["tools"] else None
    return Dataset.from_list(out, features=Features(features))
