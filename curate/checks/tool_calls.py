"""The tool-call check: every function call in a conversation is one the row's tools define,
with arguments that validate against that function's JSON Schema, answered by a tool result
where the conversation goes on; no tool result answers a call that was never made; no call id
is used twice.

Reasons (one finding per record, reason and call; evidence names the turn, the call and what is
wrong):

- ``unknown_function``: the call names a function the row's ``tools`` do not define (checked
  only where the row has tools).
- ``invalid_arguments``: the arguments are not a JSON object, or do not validate against the
  function's ``parameters`` schema (``jsonschema``, the schema's own draft or 2020-12).
- ``invalid_tool_schema``: a tool's ``parameters`` is not a valid JSON Schema.
- ``unanswered_call``: the conversation goes on after the call, but no tool result names its
  id (or, where calls have no ids, fewer results follow than calls were made).
- ``orphan_tool_result``: a tool message answering a call id that no earlier call made, or a
  tool message with no call before it at all.
- ``duplicate_call_id``: two calls in one conversation share an id.

Every finding is ``review`` unless the config says otherwise.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from curate.io.shapes import tool_schemas
from curate.pipeline.step import Finding, Severity, StepResult, findings_frame
from curate.records import Message, from_frame

TOOL_CALL_REASONS = (
    "unknown_function",
    "invalid_arguments",
    "invalid_tool_schema",
    "unanswered_call",
    "orphan_tool_result",
    "duplicate_call_id",
)
"""Every reason code the tool-call check writes."""


class ToolCallConfig(BaseModel):
    """Whether the tool-call check runs, and the severity of what it finds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    """Run the tool-call check (it has nothing to say about records without tool calls)."""
    severity: dict[str, Severity] = Field(default_factory=dict)
    """Severity per reason code; a reason not listed is ``review`` (applied by ``run_steps``
    with the config's other overrides)."""


class ToolCallFigures(BaseModel):
    """What the tool-call check found."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    records: int
    """Records looked at."""
    records_with_calls: int
    """Records with at least one tool call or tool result."""
    calls: int
    """Tool calls checked."""
    records_flagged: int
    """Records with at least one finding."""
    by_reason: dict[str, int]
    """Findings per reason code."""


class ToolCallCheck:
    """The tool-call step."""

    name = "tool_calls"

    def __init__(self, config: ToolCallConfig | None = None) -> None:
        self.config = config or ToolCallConfig()

    def run(self, records: pl.DataFrame) -> StepResult[ToolCallFigures]:
        """Check the calls and tool results of every record that has any."""
        involved = _with_tool_messages(records)
        found: list[Finding] = []
        calls = 0
        for record in from_frame(records.filter(involved)):
            validators = _Validators(record.tools)
            for side, conversation in _conversations(record):
                problems, n = check_conversation(conversation, validators)
                calls += n
                for reason, evidence in problems:
                    found.append(
                        Finding(
                            record_id=record.id,
                            row=record.source.row,
                            check=self.name,
                            severity="review",
                            reason=reason,
                            evidence={"side": side, **evidence},
                        )
                    )
        by_reason = Counter(f.reason for f in found)
        figures = ToolCallFigures(
            records=len(records),
            records_with_calls=int(involved.sum()),
            calls=calls,
            records_flagged=len({f.record_id for f in found}),
            by_reason={r: by_reason.get(r, 0) for r in TOOL_CALL_REASONS},
        )
        return StepResult(findings=findings_frame(found), figures=figures)


def _with_tool_messages(records: pl.DataFrame) -> pl.Series:
    """Which records hold a tool call or a tool result anywhere (a cheap Polars screen)."""
    flags = pl.lit(False)
    for column in ("prompt", "completion", "chosen", "rejected"):
        has = pl.col(column).list.eval(
            pl.element().struct.field("tool_calls").list.len().fill_null(0).gt(0)
            | pl.element().struct.field("role").eq("tool")
        )
        flags = flags | has.list.any().fill_null(False)
    return records.select(flags.alias("f"))["f"]


def _conversations(record: Any) -> list[tuple[str, list[Message]]]:
    """The conversations a record holds: the whole one, or the prompt with each answer side."""
    if record.kind == "sft":
        return [("conversation", record.conversation)]
    if record.kind == "preference":
        return [
            ("chosen", [*record.prompt, *(record.chosen or [])]),
            ("rejected", [*record.prompt, *(record.rejected or [])]),
        ]
    if record.kind == "kto":
        return [("completion", [*record.prompt, *(record.completion or [])])]
    return [("prompt", list(record.prompt))]


class _Validators:
    """JSON Schema validators for a record's tools, built once per record."""

    def __init__(self, tools: list[dict[str, Any]] | None) -> None:
        self.has_tools = tools is not None
        self.schemas = tool_schemas(tools)
        self._built: dict[str, Any] = {}

    def validator(self, name: str) -> tuple[Any, str | None]:
        """The validator of a function's parameters, or (None, why the schema is unusable)."""
        if name in self._built:
            return self._built[name]
        from jsonschema import SchemaError, validators

        schema = self.schemas[name].get("parameters")
        if schema is None:
            built: tuple[Any, str | None] = (None, None)
        else:
            cls = validators.validator_for(schema, default=validators.Draft202012Validator)
            try:
                cls.check_schema(schema)
                built = (cls(schema), None)
            except SchemaError as e:
                built = (None, f"{e.message} at {'/'.join(map(str, e.path)) or 'the root'}")
        self._built[name] = built
        return built


def check_conversation(
    messages: list[Message], validators: _Validators
) -> tuple[list[tuple[str, dict[str, Any]]], int]:
    """The problems of one conversation's calls and tool results, and how many calls it has."""
    problems: list[tuple[str, dict[str, Any]]] = []
    made: dict[str, int] = {}  # call id -> turn of the call
    answered: set[str] = set()
    pending_anonymous = 0
    calls = 0
    for turn, message in enumerate(messages):
        if message.role == "assistant" and message.tool_calls:
            if pending_anonymous:  # the conversation went on past calls no result answered
                problems.append(
                    ("unanswered_call", {"turn": turn, "unanswered": pending_anonymous})
                )
                pending_anonymous = 0
            for call in message.tool_calls:
                calls += 1
                where = {"turn": turn, "function": call.name, "call_id": call.id}
                problems += _call_problems(call.name, call.arguments, where, validators)
                if call.id is None:
                    pending_anonymous += 1
                elif call.id in made:
                    problems.append(("duplicate_call_id", {**where, "first_turn": made[call.id]}))
                else:
                    made[call.id] = turn
        elif message.role == "tool":
            where = {"turn": turn, "call_id": message.tool_call_id}
            if message.tool_call_id is None:
                if pending_anonymous:
                    pending_anonymous -= 1
                elif not made and not answered:
                    problems.append(("orphan_tool_result", {**where, "why": "no call before it"}))
            elif message.tool_call_id not in made:
                problems.append(
                    ("orphan_tool_result", {**where, "why": "no earlier call has this id"})
                )
            else:
                answered.add(message.tool_call_id)
    last_calls = len(messages) - 1
    while last_calls >= 0 and not (
        messages[last_calls].role == "assistant" and messages[last_calls].tool_calls
    ):
        last_calls -= 1
    for call_id, turn in made.items():
        # a call in the conversation's last assistant turn, with nothing after, is its answer
        goes_on = turn < len(messages) - 1
        if call_id not in answered and goes_on:
            problems.append(("unanswered_call", {"turn": turn, "call_id": call_id}))
    if pending_anonymous and last_calls < len(messages) - 1:
        problems.append(("unanswered_call", {"turn": last_calls, "unanswered": pending_anonymous}))
    return problems, calls


def _call_problems(
    name: str, arguments: str, where: dict[str, Any], validators: _Validators
) -> list[tuple[str, dict[str, Any]]]:
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError as e:
        return [("invalid_arguments", {**where, "error": f"not JSON: {e.msg}"})]
    except RecursionError:
        return [("invalid_arguments", {**where, "error": "not JSON: nested too deeply"})]
    if not isinstance(parsed, dict):
        return [("invalid_arguments", {**where, "error": "the arguments are not a JSON object"})]
    if not validators.has_tools:
        return []
    if name not in validators.schemas:
        known = sorted(validators.schemas)[:10]
        return [("unknown_function", {**where, "defined": known})]
    validator, broken = validators.validator(name)
    if broken:
        return [("invalid_tool_schema", {**where, "error": broken})]
    if validator is None:
        return []
    errors = sorted(validator.iter_errors(parsed), key=lambda e: list(e.path))
    if not errors:
        return []
    first = errors[0]
    at = "/".join(map(str, first.path)) or "the arguments"
    return [
        (
            "invalid_arguments",
            {**where, "error": f"{first.message} (at {at})", "errors": len(errors)},
        )
    ]
