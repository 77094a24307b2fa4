"""Reading an eval set for the leakage check: an eval suite, a plain question file, or a dataset.

Everything becomes a frame of ``RECORD_SCHEMA`` whose ``id`` is the eval item's own id (a suite
case's ``id``, MT-Bench's ``question_id``, else ``row-N``), whose prompt holds the item's user
turns, and whose completion holds its reference answer when it has one. Accepted:

- an eval suite (issue 7): JSONL of cases, or a YAML/JSON mapping with ``cases``; a case has
  ``id`` and ``prompt`` (text or messages) or ``messages``, and an optional ``reference``;
- plain JSONL/JSON with a ``question``, ``prompt``, ``text``, ``instruction`` (+ ``input``) or
  ``turns`` field, and optionally a reference (``REFERENCE_FIELDS``: GSM8K, MT-Bench);
- any dataset ``curate.read_dataset`` reads (its prompts are the eval items), or the name or id
  of a dataset in the store.

``PROMPT_FIELDS``, ``REFERENCE_FIELDS``, ``item_prompt`` and ``item_reference`` are the one
definition of which fields of a row hold an eval item's prompt and reference: the leakage check
reads eval sets with them, and failure mining (``evalsuite.mine``) reads its pools with them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from curate.errors import DatasetFormatError, InputError, NotFoundError
from curate.io.files import open_binary
from curate.io.shards import is_sharded, read_shards
from curate.records import Message, Record, Source, to_frame

PROMPT_FIELDS = ("messages", "prompt", "question", "text", "instruction", "turns")
"""Fields that hold an item's prompt, first one set wins: a message list (``messages``, or
``prompt`` as a list), a text (``prompt``, ``question``, ``text``, ``instruction`` followed by
its ``input``), or MT-Bench's list of user ``turns``."""
REFERENCE_FIELDS = ("reference", "ground_truth", "answer", "output", "response")
"""Fields that hold an item's reference answer, first one set wins."""
_QUESTION_KEYS = ("question", "turns", "text")
_TRAINING_KEYS = {"completion", "chosen", "rejected", "response", "output", "conversations"}


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


def item_prompt(
    row: dict[str, Any], *, first_turn: bool = False, where: str = "row"
) -> list[Message] | None:
    """An item's prompt as messages, from the first of ``PROMPT_FIELDS`` it sets; None if none.

    Args:
        row: the item.
        first_turn: of MT-Bench ``turns``, keep the first only: the later turns follow up on an
            answer, so a model asked to answer the item answers the first.
        where: the item's place, for the error message.

    Raises:
        InputError: a message list that is not a list of ``{role, content}``.
    """
    for field in PROMPT_FIELDS:
        value = row.get(field)
        if not value:
            continue
        if isinstance(value, list) and field in ("messages", "prompt"):
            if not all(isinstance(m, dict) and "role" in m and "content" in m for m in value):
                raise InputError(f"{where}: {field} must be a list of {{role, content}}")
            return [Message(role=m["role"], content=str(m["content"])) for m in value]
        if isinstance(value, list) and field == "turns":
            turns = value[:1] if first_turn else value
            return [Message(role="user", content=str(t)) for t in turns]
        if isinstance(value, str):
            if field == "instruction" and str(row.get("input") or "").strip():
                value = f"{value}\n\n{row['input']}"
            return [Message(role="user", content=value)]
    return None


def item_reference(row: dict[str, Any]) -> Any:
    """An item's reference answer: the first of ``REFERENCE_FIELDS`` it sets; None if none."""
    return next((row[f] for f in REFERENCE_FIELDS if row.get(f) not in (None, "")), None)


def _item(row: Any, index: int, path: Path) -> Record:
    where = f"{path}: item {index}"
    if not isinstance(row, dict):
        raise InputError(f"{where}: expected an object, got {type(row).__name__}")
    item_id = str(row.get("id", row.get("question_id", f"row-{index}")))
    reference = item_reference(row)
    completion = None
    if reference is not None:
        text = reference if isinstance(reference, str) else json.dumps(reference, sort_keys=True)
        completion = [Message(role="assistant", content=text)]
    return Record(
        id=item_id,
        kind="sft",
        prompt=_prompt(row, where),
        completion=completion,
        source=Source(file=str(path), row=index),
    )


def _prompt(row: dict[str, Any], where: str) -> list[Message]:
    prompt = item_prompt(row, where=where)
    if prompt is None:
        raise InputError(f"{where}: no prompt, messages, question, turns or text field")
    return prompt


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
    from curate.io.read import read_dataset

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
    """A folder of shards, or a stored dataset's records by id or name."""
    if is_sharded(name):
        return read_shards(name).records
    from curate.store.store import Store

    own = store is None
    store = Store() if own else store
    try:
        info = store.find_dataset(name)
        if info is None:
            raise NotFoundError(f"{name}: neither a file nor a dataset id or name in the store")
        return store.records(info.id)
    finally:
        if own:
            store.close()
