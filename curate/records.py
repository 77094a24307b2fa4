"""The canonical record: one schema for SFT and preference data, defined once.

Records follow TRL's conversational dataset formats so the trainer needs no conversion:

- SFT: ``prompt`` (chat messages, a system message included) and ``completion`` (assistant
  messages, usually one).
- Preference: ``prompt``, ``chosen`` and ``rejected``.

Polars, Arrow and DuckDB schemas are derived from the models here; nothing else declares them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]
Kind = Literal["sft", "preference"]


class Message(BaseModel):
    """One chat message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    """Who speaks: system, user, assistant or tool."""
    content: str
    """The message text."""


class Source(BaseModel):
    """Where a record (or a rejected row) came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str
    """The input file's path as given (or a logical name such as ``upload:<sha>``)."""
    row: int
    """0-based position of the row among the file's rows, in file order."""
    line: int | None = None
    """1-based physical line where the row starts, where the file type has lines."""


class Record(BaseModel):
    """A canonical training record, SFT or preference."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    """Stable content hash (16 hex); the k-th exact copy of a content gets a distinct id."""
    kind: Kind
    """``sft`` (prompt + completion) or ``preference`` (prompt + chosen + rejected)."""
    prompt: list[Message]
    """The conversation so far, ending with a user turn; a system message is part of it."""
    completion: list[Message] | None = None
    """SFT only: the assistant answer."""
    chosen: list[Message] | None = None
    """Preference only: the preferred answer."""
    rejected: list[Message] | None = None
    """Preference only: the dispreferred answer."""
    source: Source
    """Provenance: file, row and line."""
    meta: dict[str, Any] = Field(default_factory=dict)
    """Open annotations, namespaced by the step that wrote them (``{"synth": {...}}``)."""

    @property
    def answers(self) -> list[list[Message]]:
        """The answer sides of the record: ``[completion]`` or ``[chosen, rejected]``."""
        if self.kind == "sft":
            return [self.completion or []]
        return [self.chosen or [], self.rejected or []]


# ---------------------------------------------------------------------------------------------
# Derived schemas
# ---------------------------------------------------------------------------------------------

MESSAGES = pl.List(pl.Struct({"role": pl.Utf8, "content": pl.Utf8}))

RECORD_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Utf8(),
    "kind": pl.Utf8(),
    "prompt": MESSAGES,
    "completion": MESSAGES,
    "chosen": MESSAGES,
    "rejected": MESSAGES,
    "source_file": pl.Utf8(),
    "row": pl.Int64(),
    "line": pl.Int64(),
    "meta": pl.Utf8(),
}
"""Polars schema of a frame of records (``meta`` is JSON text: its keys are open)."""

ANSWER_COLUMNS = ("completion", "chosen", "rejected")

REJECT_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.Utf8(),
    "row": pl.Int64(),
    "line": pl.Int64(),
    "reason": pl.Utf8(),
    "detail": pl.Utf8(),
    "raw": pl.Utf8(),
}
"""Polars schema of rejected rows: where, why, and the start of the raw text."""


def _duck_type(dtype: pl.DataType) -> str:
    if dtype == MESSAGES:
        return "STRUCT(role VARCHAR, content VARCHAR)[]"
    return {pl.Utf8(): "VARCHAR", pl.Int64(): "BIGINT"}[dtype]


def duckdb_columns(schema: dict[str, pl.DataType]) -> str:
    """DuckDB column definitions derived from a Polars schema above."""
    return ", ".join(f"{name} {_duck_type(dtype)}" for name, dtype in schema.items())


# ---------------------------------------------------------------------------------------------
# Ids and conversions
# ---------------------------------------------------------------------------------------------


def _dump(messages: list[Message] | None) -> list[dict[str, str]] | None:
    return None if messages is None else [m.model_dump() for m in messages]


def content_key(
    kind: str,
    prompt: list[Message],
    completion: list[Message] | None = None,
    chosen: list[Message] | None = None,
    rejected: list[Message] | None = None,
) -> str:
    """Canonical JSON of a record's content (what its id hashes)."""
    return json.dumps(
        [kind, _dump(prompt), _dump(completion), _dump(chosen), _dump(rejected)],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def record_id(content: str, occurrence: int = 0) -> str:
    """A stable id: the hash of the content, and of the occurrence for the k-th exact copy."""
    text = content if occurrence == 0 else f"{content}#{occurrence}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def to_frame(records: list[Record]) -> pl.DataFrame:
    """Records to a Polars frame of ``RECORD_SCHEMA``."""
    rows = [
        {
            "id": r.id,
            "kind": r.kind,
            "prompt": _dump(r.prompt),
            "completion": _dump(r.completion),
            "chosen": _dump(r.chosen),
            "rejected": _dump(r.rejected),
            "source_file": r.source.file,
            "row": r.source.row,
            "line": r.source.line,
            "meta": json.dumps(r.meta, ensure_ascii=False, sort_keys=True),
        }
        for r in records
    ]
    return pl.DataFrame(rows, schema=RECORD_SCHEMA)


def _messages(value: list[dict[str, str]] | None) -> list[Message] | None:
    return None if value is None else [Message(**m) for m in value]


def from_frame(frame: pl.DataFrame) -> list[Record]:
    """A frame of ``RECORD_SCHEMA`` back to records."""
    return [
        Record(
            id=row["id"],
            kind=row["kind"],
            prompt=_messages(row["prompt"]) or [],
            completion=_messages(row["completion"]),
            chosen=_messages(row["chosen"]),
            rejected=_messages(row["rejected"]),
            source=Source(file=row["source_file"], row=row["row"], line=row["line"]),
            meta=json.loads(row["meta"] or "{}"),
        )
        for row in frame.iter_rows(named=True)
    ]


def empty_frame() -> pl.DataFrame:
    """An empty frame of records."""
    return pl.DataFrame(schema=RECORD_SCHEMA)


def text_of(messages: list[dict[str, str]] | list[Message] | None) -> str:
    """The messages' contents joined by blank lines (roles dropped), for text checks."""
    if not messages:
        return ""
    parts = [m["content"] if isinstance(m, dict) else m.content for m in messages]
    return "\n\n".join(parts)
