"""The canonical record: one schema for SFT, preference, KTO and prompt-only data, defined once.

Records follow TRL's conversational dataset formats so the trainer needs no conversion:

- SFT: ``prompt`` (the conversation up to its last assistant turn, system message, earlier
  assistant turns and tool results included) and ``completion`` (the last assistant turn).
  ``prompt + completion`` is the whole conversation, every turn kept; the trainer trains every
  assistant turn of it, not only the last (``Record.conversation``).
- Preference: ``prompt``, ``chosen`` and ``rejected``.
- KTO (unpaired preference): ``prompt``, ``completion`` and a boolean ``label``.
- Prompt-only: ``prompt`` alone (pools for synthesis and failure mining).

A message keeps what chat templates take: ``content`` (null where an assistant message carries
only tool calls), ``tool_calls`` (id, function name, arguments exactly as given), ``tool_call_id``
and ``name`` on tool results, and any other key of the message verbatim in ``extra``. A record
keeps its row's ``tools`` definitions; the row's extra columns ride in ``meta["input"]``.

Polars, Arrow and DuckDB schemas are derived from the models here; nothing else declares them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]
Kind = Literal["sft", "preference", "kto", "prompt"]
KINDS: tuple[str, ...] = ("sft", "preference", "kto", "prompt")

INPUT_META = "input"
"""The ``meta`` key under which a row's extra input columns are kept, verbatim."""


class ToolCall(BaseModel):
    """One function call an assistant message makes (OpenAI's shape, flattened)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str | None = None
    """The call id a tool result answers; None where the source gives none."""
    type: str = "function"
    """Always ``function`` today (OpenAI's only call type)."""
    name: str
    """The called function's name."""
    arguments: str
    """The arguments exactly as given (JSON text); parsed by the checks, never rewritten."""

    def to_openai(self) -> dict[str, Any]:
        """OpenAI's nested form: ``{id, type, function: {name, arguments}}``."""
        out: dict[str, Any] = {
            "type": self.type,
            "function": {"name": self.name, "arguments": self.arguments},
        }
        if self.id is not None:
            out = {"id": self.id, **out}
        return out


class Message(BaseModel):
    """One chat message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    """Who speaks: system, user, assistant or tool."""
    content: str | None
    """The message text; None only on an assistant message that carries tool calls."""
    tool_calls: list[ToolCall] | None = None
    """Assistant only: the function calls it makes."""
    tool_call_id: str | None = None
    """Tool only: the id of the call this result answers."""
    name: str | None = None
    """Tool: the function whose result this is; otherwise a named speaker, where given."""
    extra: dict[str, Any] | None = None
    """Any other key of the source message, kept verbatim and written back out."""

    @property
    def text(self) -> str:
        """The content, or ``""`` where there is none."""
        return self.content or ""

    def key(self) -> dict[str, Any]:
        """What the record id hashes: today's ``{role, content}`` plus only the fields set."""
        return self.model_dump(exclude_none=True)

    def to_row(self) -> dict[str, Any]:
        """The message as a row of ``MESSAGE`` (``extra`` as JSON text)."""
        return {
            "role": self.role,
            "content": self.content,
            "tool_calls": None
            if self.tool_calls is None
            else [c.model_dump() for c in self.tool_calls],
            "tool_call_id": self.tool_call_id,
            "name": self.name,
            "extra": None if self.extra is None else json.dumps(self.extra, ensure_ascii=False),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Message:
        """A row of ``MESSAGE`` (or a plain ``{role, content}`` dict) back to a message."""
        calls = row.get("tool_calls")
        extra = row.get("extra")
        return cls(
            role=row["role"],
            content=row.get("content"),
            tool_calls=None if calls is None else [ToolCall(**c) for c in calls],
            tool_call_id=row.get("tool_call_id"),
            name=row.get("name"),
            extra=json.loads(extra) if isinstance(extra, str) else extra,
        )

    def to_chat(self) -> dict[str, Any]:
        """The message as TRL and OpenAI take it: only the keys that are set, ``extra`` merged."""
        out: dict[str, Any] = dict(self.extra or {})
        out["role"] = self.role
        out["content"] = self.content
        if self.tool_calls is not None:
            out["tool_calls"] = [c.to_openai() for c in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            out["name"] = self.name
        return out


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
    """A canonical training record: SFT, preference, KTO or prompt-only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    """Stable content hash (16 hex); the k-th exact copy of a content gets a distinct id."""
    kind: Kind
    """``sft``, ``preference``, ``kto`` (completion + label) or ``prompt`` (prompt only)."""
    prompt: list[Message]
    """The conversation so far, ending with a user (or tool) turn; a system message is part of
    it, and so are earlier assistant turns of a multi-turn conversation."""
    completion: list[Message] | None = None
    """SFT: the last assistant turn; KTO: the judged answer."""
    chosen: list[Message] | None = None
    """Preference only: the preferred answer."""
    rejected: list[Message] | None = None
    """Preference only: the dispreferred answer."""
    label: bool | None = None
    """KTO only: True where the completion is desirable."""
    tools: list[dict[str, Any]] | None = None
    """The row's tool (function) definitions, as given (JSON Schema parameters inside)."""
    source: Source
    """Provenance: file, row and line."""
    meta: dict[str, Any] = Field(default_factory=dict)
    """Open annotations, namespaced by the step that wrote them (``{"synth": {...}}``); the row's
    extra input columns under ``meta["input"]``."""

    @property
    def answers(self) -> list[list[Message]]:
        """The answer sides: ``[completion]`` (SFT, KTO), ``[chosen, rejected]`` or ``[]``."""
        if self.kind in ("sft", "kto"):
            return [self.completion or []]
        if self.kind == "preference":
            return [self.chosen or [], self.rejected or []]
        return []

    @property
    def conversation(self) -> list[Message]:
        """SFT: every turn, in order (``prompt + completion``); other kinds: the prompt."""
        if self.kind == "sft":
            return [*self.prompt, *(self.completion or [])]
        return list(self.prompt)


# ---------------------------------------------------------------------------------------------
# Derived schemas
# ---------------------------------------------------------------------------------------------

TOOL_CALL = pl.Struct({"id": pl.Utf8, "type": pl.Utf8, "name": pl.Utf8, "arguments": pl.Utf8})
MESSAGE = pl.Struct(
    {
        "role": pl.Utf8,
        "content": pl.Utf8,
        "tool_calls": pl.List(TOOL_CALL),
        "tool_call_id": pl.Utf8,
        "name": pl.Utf8,
        "extra": pl.Utf8,
    }
)
MESSAGES = pl.List(MESSAGE)

RECORD_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Utf8(),
    "kind": pl.Utf8(),
    "prompt": MESSAGES,
    "completion": MESSAGES,
    "chosen": MESSAGES,
    "rejected": MESSAGES,
    "label": pl.Boolean(),
    "tools": pl.Utf8(),
    "source_file": pl.Utf8(),
    "row": pl.Int64(),
    "line": pl.Int64(),
    "meta": pl.Utf8(),
}
"""Polars schema of a frame of records (``tools`` and ``meta`` are JSON text: their keys are
open)."""

MESSAGE_COLUMNS = ("prompt", "completion", "chosen", "rejected")
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


def duck_type(dtype: pl.DataType) -> str:
    """The DuckDB type of a Polars type used in the schemas here."""
    if isinstance(dtype, pl.List):
        return f"{duck_type(dtype.inner)}[]"  # type: ignore[arg-type]
    if isinstance(dtype, pl.Struct):
        fields = ", ".join(f"{f.name} {duck_type(f.dtype)}" for f in dtype.fields)  # type: ignore[arg-type]
        return f"STRUCT({fields})"
    return {pl.Utf8(): "VARCHAR", pl.Int64(): "BIGINT", pl.Boolean(): "BOOLEAN"}[dtype]


def duckdb_columns(schema: dict[str, pl.DataType]) -> str:
    """DuckDB column definitions derived from a Polars schema above."""
    return ", ".join(f"{name} {duck_type(dtype)}" for name, dtype in schema.items())


# ---------------------------------------------------------------------------------------------
# Ids and conversions
# ---------------------------------------------------------------------------------------------


def _key(messages: list[Message] | None) -> list[dict[str, Any]] | None:
    return None if messages is None else [m.key() for m in messages]


def content_key(
    kind: str,
    prompt: list[Message],
    completion: list[Message] | None = None,
    chosen: list[Message] | None = None,
    rejected: list[Message] | None = None,
    label: bool | None = None,
    tools: list[dict[str, Any]] | None = None,
) -> str:
    """Canonical JSON of a record's content (what its id hashes).

    The label and the tools enter only where set, so records of the first schema keep their ids.
    """
    parts: list[Any] = [kind, _key(prompt), _key(completion), _key(chosen), _key(rejected)]
    if label is not None:
        parts.append({"label": label})
    if tools is not None:
        parts.append({"tools": tools})
    return json.dumps(parts, ensure_ascii=False, separators=(",", ":"), sort_keys=False)


def record_id(content: str, occurrence: int = 0) -> str:
    """A stable id: the hash of the content, and of the occurrence for the k-th exact copy."""
    text = content if occurrence == 0 else f"{content}#{occurrence}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def messages_rows(messages: list[Message] | None) -> list[dict[str, Any]] | None:
    """Messages as rows of ``MESSAGE``."""
    return None if messages is None else [m.to_row() for m in messages]


def to_frame(records: list[Record]) -> pl.DataFrame:
    """Records to a Polars frame of ``RECORD_SCHEMA``."""
    rows = [
        {
            "id": r.id,
            "kind": r.kind,
            "prompt": messages_rows(r.prompt),
            "completion": messages_rows(r.completion),
            "chosen": messages_rows(r.chosen),
            "rejected": messages_rows(r.rejected),
            "label": r.label,
            "tools": None if r.tools is None else json.dumps(r.tools, ensure_ascii=False),
            "source_file": r.source.file,
            "row": r.source.row,
            "line": r.source.line,
            "meta": json.dumps(r.meta, ensure_ascii=False, sort_keys=True),
        }
        for r in records
    ]
    return pl.DataFrame(rows, schema=RECORD_SCHEMA)


def messages_of(value: list[dict[str, Any]] | None) -> list[Message] | None:
    """Rows of ``MESSAGE`` back to messages."""
    return None if value is None else [Message.from_row(m) for m in value]


def from_frame(frame: pl.DataFrame) -> list[Record]:
    """A frame of ``RECORD_SCHEMA`` back to records."""
    has = set(frame.columns)
    return [
        Record(
            id=row["id"],
            kind=row["kind"],
            prompt=messages_of(row["prompt"]) or [],
            completion=messages_of(row["completion"]),
            chosen=messages_of(row["chosen"]),
            rejected=messages_of(row["rejected"]),
            label=row.get("label") if "label" in has else None,
            tools=json.loads(row["tools"]) if "tools" in has and row["tools"] else None,
            source=Source(file=row["source_file"], row=row["row"], line=row["line"]),
            meta=json.loads(row["meta"] or "{}"),
        )
        for row in frame.iter_rows(named=True)
    ]


def empty_frame() -> pl.DataFrame:
    """An empty frame of records."""
    return pl.DataFrame(schema=RECORD_SCHEMA)


def _message_text(m: dict[str, Any] | Message) -> str:
    if isinstance(m, Message):
        content, calls = m.content, m.tool_calls
        rendered = [f"{c.name}({c.arguments})" for c in calls or []]
    else:
        content, calls = m.get("content"), m.get("tool_calls")
        fns = [c.get("function", c) for c in calls or []]  # flat, or OpenAI's nested form
        rendered = [f"{f.get('name')}({f.get('arguments')})" for f in fns]
    return "\n".join([p for p in [content or "", *rendered] if p])


def text_of(messages: list[dict[str, Any]] | list[Message] | None) -> str:
    """The messages' contents (and tool calls, as ``name(arguments)``) joined by blank lines
    (roles dropped), for text checks."""
    if not messages:
        return ""
    return "\n\n".join(_message_text(m) for m in messages)
