"""Reading an eval set for the leakage check: an eval suite, a plain question file, or a dataset.

Everything becomes a frame of ``RECORD_SCHEMA`` whose ``id`` is the eval item's own id (a suite
case's ``id``, MT-Bench's ``question_id``, else ``row-N``), whose prompt holds the item's user
turns, and whose completion holds its reference answer when it has one. Accepted:

- an eval suite (issue 7): JSONL of cases, or a YAML/JSON mapping with ``cases``; a case has
  ``id`` and ``prompt`` (text or messages) or ``messages``, and an optional ``reference``;
- plain JSONL/JSON with a ``question``, ``prompt``, ``text``, ``instruction`` (+ ``input``) or
  ``turns`` field, and optionally ``ground_truth``/``reference``/``answer`` (GSM8K, MT-Bench);
- any dataset ``curate.read_dataset`` reads (its prompts are the eval items), or the name or id
  of a dataset in the store.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from curate.errors import DatasetFormatError, InputError
from curate.io.files import open_binary
from curate.records import Message, Record, Source, to_frame

_QUESTION_KEYS = ("question", "turns", "text")
_TRAINING_KEYS = {"completion", "chosen", "rejected", "response", "output", "conversations"}
_REFERENCE_KEYS = ("reference", "ground_truth", "answer")


def _rows(path: Path) -> list[Any] | None:
    """The file's rows when it is JSONL, a JSON list, or a mapping with ``cases``; else None."""
    try:
        with open_binary(path) as f:
            text = f.read().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    stripped = text.lstrip()
    if path.suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
        return data.get("cases") if isinstance(data, dict) else data
    if stripped.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return None
    if stripped.startswith("{"):
        try:
            data = json.loads(text)
            return data.get("cases") if isinstance(data, dict) and "cases" in data else [data]
        except json.JSONDecodeError:
            pass
        try:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError:
            return None
    return None


def _is_eval_shape(rows: list[Any]) -> bool:
    first = rows[0] if rows and isinstance(rows[0], dict) else None
    if first is None:
        return False
    keys = set(first)
    if keys & set(_QUESTION_KEYS):
        return True
    return "id" in keys and bool(keys & {"prompt", "messages"}) and not keys & _TRAINING_KEYS


def _user_turns(row: dict[str, Any], where: str) -> list[Message]:
    if "messages" in row or isinstance(row.get("prompt"), list):
        raw = row.get("messages") or row.get("prompt")
        if not raw or not all(isinstance(m, dict) and "role" in m and "content" in m for m in raw):
            raise InputError(f"{where}: messages must be a non-empty list of {{role, content}}")
        return [Message(role=m["role"], content=str(m["content"])) for m in raw]
    if isinstance(row.get("turns"), list):
        return [Message(role="user", content=str(t)) for t in row["turns"]]
    for key in ("prompt", "question", "text", "instruction"):
        if isinstance(row.get(key), str):
            content = row[key]
            if key == "instruction" and str(row.get("input") or "").strip():
                content = f"{content}\n\n{row['input']}"
            return [Message(role="user", content=content)]
    raise InputError(f"{where}: no prompt, messages, question, turns or text field")


def _item(row: Any, index: int, path: Path) -> Record:
    where = f"{path}: item {index}"
    if not isinstance(row, dict):
        raise InputError(f"{where}: expected an object, got {type(row).__name__}")
    item_id = str(row.get("id", row.get("question_id", f"row-{index}")))
    reference = next((row[k] for k in _REFERENCE_KEYS if row.get(k) is not None), None)
    completion = None
    if reference is not None:
        text = reference if isinstance(reference, str) else json.dumps(reference, sort_keys=True)
        completion = [Message(role="assistant", content=text)]
    return Record(
        id=item_id,
        kind="sft",
        prompt=_user_turns(row, where),
        completion=completion,
        source=Source(file=str(path), row=index),
    )


def load_eval_set(source: str | Path | pl.DataFrame, store: Any = None) -> pl.DataFrame:
    """Read an eval set into a frame of ``RECORD_SCHEMA`` (one row per eval item).

    Args:
        source: an eval suite or question file, a dataset file, a stored dataset's name or id,
            or a frame of records.
        store: the store, for stored datasets (default: ``Store()``).

    Raises:
        InputError: the source is none of the above, or an item has no prompt.
    """
    if isinstance(source, pl.DataFrame):
        return source
    path = Path(source)
    if not path.is_file():
        return _from_store(str(source), store)
    rows = _rows(path)
    if rows and _is_eval_shape(rows):
        return to_frame([_item(row, i, path) for i, row in enumerate(rows)])
    from curate.io.ingest import read_dataset

    try:
        records = read_dataset(path).records
    except DatasetFormatError as e:
        raise InputError(
            f"{path}: not an eval set: expected an eval suite (cases with id and prompt or "
            f"messages), rows with a question/prompt/text/turns field, or a dataset ({e})"
        ) from e
    # Only the prompts are eval items: a dataset's answers are not references.
    return records.with_columns(
        pl.lit(None, dtype=records.schema[c]).alias(c) for c in ("completion", "chosen", "rejected")
    )


def _from_store(name: str, store: Any) -> pl.DataFrame:
    from curate.pipeline.run import (
        load_input,  # the stored-dataset lookup lives with curate.pipeline.run
    )
    from curate.store.store import Store

    if store is not None:
        return load_input(name, store).records
    own = Store()
    try:
        return load_input(name, own).records
    finally:
        own.close()
