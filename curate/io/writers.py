"""Write records in TRL's conversational format (Parquet or JSONL), with nothing lost.

The files load with ``datasets.load_dataset("parquet"|"json", ...)`` and TRL consumes them
without conversion: SFT files have ``prompt`` and ``completion`` (``prompt + completion`` is the
whole conversation, every turn kept); preference files ``prompt``, ``chosen`` and ``rejected``;
KTO files ``prompt``, ``completion`` and ``label``; prompt-only files ``prompt``. Each message is
OpenAI's ``{role, content, tool_calls, tool_call_id, name}`` with the source message's other
keys beside them; ``tools`` holds the row's tool definitions (JSON text in Parquet, which TRL
parses; a list in JSONL). A file of several kinds has a ``kind`` column and reads back by it.

The row's extra input columns (``meta["input"]``) come back out as top-level columns, under
their own names (``input_<name>`` where a name is one the writer emits itself); ``id`` and
``meta`` (JSON text, the steps' annotations) travel along so a curated set can be traced back to
its findings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from curate.errors import InputError
from curate.records import INPUT_META, MESSAGE_COLUMNS, messages_of

ANSWERS_BY_KIND = {
    "sft": ("completion",),
    "preference": ("chosen", "rejected"),
    "kto": ("completion",),
    "prompt": (),
}


def trl_columns(frame: pl.DataFrame) -> list[str]:
    """The record columns a TRL file of these records has (by the kinds present)."""
    kinds = set(frame["kind"].unique().to_list()) if len(frame) else {"sft"}
    answers: list[str] = []
    for kind in ("sft", "preference", "kto", "prompt"):
        if kind in kinds:
            answers += [c for c in ANSWERS_BY_KIND[kind] if c not in answers]
    extra = ["kind"] if len(kinds) > 1 else []
    label = ["label"] if "kto" in kinds else []
    tools = (
        ["tools"] if "tools" in frame.columns and frame["tools"].null_count() < len(frame) else []
    )
    return ["id", *extra, "prompt", *answers, *label, *tools, "meta"]


def output_rows(frame: pl.DataFrame, *, tools_as_text: bool) -> list[dict[str, Any]]:
    """The rows a TRL file of these records holds, as plain Python values."""
    columns = trl_columns(frame)
    rows = []
    for rec in frame.iter_rows(named=True):
        row: dict[str, Any] = {}
        for column in columns:
            value = rec.get(column)
            if column in MESSAGE_COLUMNS:
                msgs = messages_of(value)
                value = None if msgs is None else [m.to_chat() for m in msgs]
            elif column == "tools" and value is not None and not tools_as_text:
                value = json.loads(value)
            elif column == "meta":
                meta = json.loads(value or "{}")
                inputs = meta.pop(INPUT_META, None) or {}
                value = json.dumps(meta, ensure_ascii=False, sort_keys=True)
                for name, v in inputs.items():
                    row[f"input_{name}" if name in WRITTEN_COLUMNS else name] = v
            row[column] = value
        rows.append(row)
    return rows


def write_records(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write a frame of ``RECORD_SCHEMA`` to ``.parquet`` or ``.jsonl`` in TRL's format."""
    path = Path(path)
    if path.suffix not in (".parquet", ".jsonl", ".ndjson"):
        raise InputError(f"{path}: write .parquet or .jsonl")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        _write_parquet(output_rows(frame, tools_as_text=True), path)
    else:
        with open(path, "w", encoding="utf-8") as f:
            for row in output_rows(frame, tools_as_text=False):
                f.write(json.dumps(_without_null_keys(row), ensure_ascii=False) + "\n")
    return path


def _without_null_keys(row: dict[str, Any]) -> dict[str, Any]:
    """JSONL rows leave out null record columns (a null input column is kept as given)."""
    return {k: v for k, v in row.items() if v is not None or k not in _RECORD_COLUMNS}


WRITTEN_COLUMNS = ("id", "kind", *MESSAGE_COLUMNS, "label", "tools", "meta")
"""Every column the writer emits itself; an input column of the same name is ``input_<name>``."""
_RECORD_COLUMNS = frozenset(WRITTEN_COLUMNS)


def _write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    """Parquet holds a column as one type: a column that Arrow cannot hold exactly (messages
    whose extra keys differ in nesting, an input column of mixed types) is written so that it
    reads back the same — messages with their extra keys as JSON text in ``extra``, any other
    column as JSON text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = list(dict.fromkeys(k for row in rows for k in row)) or ["id", "prompt", "meta"]
    arrays = []
    for name in names:
        values = [row.get(name) for row in rows]
        if name in MESSAGE_COLUMNS:
            array = _exact(values, _messages_key)
            if array is None:
                array = pa.array([_packed(v) for v in values])
        else:
            array = _exact(values, lambda v: v)
            if array is None:
                array = pa.array(
                    [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
                )
        arrays.append(array)
    pq.write_table(pa.table(arrays, names=names), path, write_statistics=False)


def _exact(values: list[Any], key: Any) -> Any:
    """An Arrow array of ``values`` if it reads back as the same values (by ``key``), else None."""
    import pyarrow as pa

    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    same = all(key(a) == key(b) for a, b in zip(array.to_pylist(), values, strict=True))
    return array if same else None


def _messages_key(messages: list[dict[str, Any]] | None) -> Any:
    """Messages as the reader sees them: a null key is an absent one."""
    if messages is None:
        return None
    return [{k: v for k, v in m.items() if v is not None} for m in messages]


_CHAT_KEYS = ("role", "content", "tool_calls", "tool_call_id", "name")


def _packed(messages: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Messages with their non-chat keys moved into ``extra`` as JSON text (read back by the
    reader as the message's extra keys)."""
    if messages is None:
        return None
    out = []
    for m in messages:
        extra = {k: v for k, v in m.items() if k not in _CHAT_KEYS}
        packed = {k: m[k] for k in _CHAT_KEYS if k in m}
        packed["extra"] = json.dumps(extra, ensure_ascii=False) if extra else None
        out.append(packed)
    return out
