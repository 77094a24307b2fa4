"""Row shapes: detect which common SFT / chat / preference shape a file uses, and convert a row
of that shape into canonical record parts.

Shapes: ``alpaca`` (instruction/input/output, or chosen/rejected for preference),
``sharegpt`` (conversations of from/value, with LLaMA-Factory's chosen/rejected messages),
``openai`` (messages of role/content), ``prompt_completion`` (strings or message lists, TRL's
format), ``prompt_response`` (strings), ``preference`` (prompt/chosen/rejected as strings or
messages, or TRL's implicit-prompt form), ``hh_rlhf`` (chosen/rejected transcripts
"\\n\\nHuman: … \\n\\nAssistant: …").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from curate.records import Message


class RowError(Exception):
    """A row that cannot become a record; ``reason`` is its reject code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Parts:
    """What a converter makes of one row."""

    kind: str
    prompt: list[Message]
    completion: list[Message] | None = None
    chosen: list[Message] | None = None
    rejected: list[Message] | None = None
    meta: dict[str, Any] | None = None


ROLE_ALIASES = {
    "system": "system",
    "user": "user",
    "human": "user",
    "prompter": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "bing": "assistant",
    "model": "assistant",
    "tool": "tool",
    "function": "tool",
    "function_call": "assistant",
    "observation": "tool",
}


# ---------------------------------------------------------------------------------------------
# field helpers
# ---------------------------------------------------------------------------------------------


def _field(row: dict[str, Any], name: str, *, required: bool = True) -> Any:
    if name not in row:
        if required:
            raise RowError("missing_field", f"field {name!r} is missing")
        return None
    return row[name]


def _string(row: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = _field(row, name, required=required)
    if value is None:
        if required:
            raise RowError("wrong_type", f"field {name!r} is null, expected a string")
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise RowError("wrong_type", f"field {name!r} is {type(value).__name__}, expected a string")
    return value


def _content(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # OpenAI content parts
        texts = []
        for part in value:
            if isinstance(part, dict) and part.get("type") == "text":
                texts.append(str(part.get("text", "")))
            else:
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise RowError("unsupported_content", f"{where}: non-text content part {kind!r}")
        return "".join(texts)
    if value is None:
        raise RowError("wrong_type", f"{where}: content is null")
    raise RowError("wrong_type", f"{where}: content is {type(value).__name__}, expected a string")


def _messages(
    value: Any, where: str, role_key: str = "role", text_key: str = "content"
) -> list[Message]:
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise RowError(
            "wrong_type", f"{where} is {type(value).__name__}, expected a list of messages"
        )
    out = []
    for i, m in enumerate(value):
        if not isinstance(m, dict):
            raise RowError("wrong_type", f"{where}[{i}] is {type(m).__name__}, expected an object")
        if role_key not in m or text_key not in m:
            raise RowError("missing_field", f"{where}[{i}] needs {role_key!r} and {text_key!r}")
        raw_role = str(m[role_key]).strip().lower()
        role = ROLE_ALIASES.get(raw_role)
        if role is None:
            raise RowError("unknown_role", f"{where}[{i}] has role {m[role_key]!r}")
        out.append(Message(role=role, content=_content(m[text_key], f"{where}[{i}]")))  # type: ignore[arg-type]
    return out


def _as_answer(value: Any, where: str) -> list[Message]:
    if isinstance(value, str):
        return [Message(role="assistant", content=value)]
    return _messages(value, where)


def _as_prompt(value: Any, where: str) -> list[Message]:
    if isinstance(value, str):
        return [Message(role="user", content=value)]
    return _messages(value, where)


def _check_prompt(prompt: list[Message]) -> list[Message]:
    if not any(m.role == "user" and m.content.strip() for m in prompt):
        raise RowError("empty_prompt", "the prompt has no non-empty user message")
    return prompt


def _split_last_assistant(msgs: list[Message], where: str) -> tuple[list[Message], list[Message]]:
    if not msgs or msgs[-1].role != "assistant":
        raise RowError("no_answer", f"{where} does not end with an assistant turn")
    return msgs[:-1], msgs[-1:]


def _system(row: dict[str, Any]) -> list[Message]:
    system = row.get("system")
    if isinstance(system, str) and system.strip():
        return [Message(role="system", content=system)]
    return []


# ---------------------------------------------------------------------------------------------
# converters, one per shape
# ---------------------------------------------------------------------------------------------


def _alpaca(row: dict[str, Any]) -> Parts:
    instruction = _string(row, "instruction") or ""
    extra = _string(row, "input", required=False) or ""
    text = f"{instruction}\n\n{extra}" if extra.strip() else instruction
    prompt = _system(row)
    history = row.get("history") or []
    if not isinstance(history, list):
        raise RowError("wrong_type", "field 'history' is not a list of [prompt, answer] pairs")
    for i, pair in enumerate(history):
        if not (
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
        ):
            raise RowError("wrong_type", f"history[{i}] is not a [prompt, answer] pair of strings")
        prompt += [
            Message(role="user", content=pair[0]),
            Message(role="assistant", content=pair[1]),
        ]
    prompt = _check_prompt([*prompt, Message(role="user", content=text)])
    if "chosen" in row and "rejected" in row:
        return Parts(
            "preference",
            prompt,
            chosen=_as_answer(row["chosen"], "chosen"),
            rejected=_as_answer(row["rejected"], "rejected"),
        )
    output = _string(row, "output")
    return Parts("sft", prompt, completion=[Message(role="assistant", content=output or "")])


def _sharegpt(row: dict[str, Any]) -> Parts:
    msgs = _messages(_field(row, "conversations"), "conversations", "from", "value")
    msgs = _system(row) + msgs
    if "chosen" in row and "rejected" in row:
        chosen = _messages(row["chosen"], "chosen", "from", "value")
        rejected = _messages(row["rejected"], "rejected", "from", "value")
        return Parts("preference", _check_prompt(msgs), chosen=chosen, rejected=rejected)
    prompt, completion = _split_last_assistant(msgs, "conversations")
    return Parts("sft", _check_prompt(prompt), completion=completion)


def _openai(row: dict[str, Any]) -> Parts:
    msgs = _messages(_field(row, "messages"), "messages")
    prompt, completion = _split_last_assistant(msgs, "messages")
    return Parts("sft", _check_prompt(prompt), completion=completion)


def _meta(row: dict[str, Any]) -> dict[str, Any] | None:
    meta = row.get("meta")
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except json.JSONDecodeError:
            return None
    return meta if isinstance(meta, dict) else None


def _prompt_completion(row: dict[str, Any]) -> Parts:
    prompt = _check_prompt(_system(row) + _as_prompt(_field(row, "prompt"), "prompt"))
    completion = _as_answer(_field(row, "completion"), "completion")
    return Parts("sft", prompt, completion=completion, meta=_meta(row))


def _prompt_response(row: dict[str, Any]) -> Parts:
    prompt = _check_prompt(_system(row) + _as_prompt(_field(row, "prompt"), "prompt"))
    return Parts("sft", prompt, completion=_as_answer(_field(row, "response"), "response"))


def _preference(row: dict[str, Any]) -> Parts:
    chosen_raw, rejected_raw = _field(row, "chosen"), _field(row, "rejected")
    if "prompt" in row:
        prompt = _check_prompt(_system(row) + _as_prompt(row["prompt"], "prompt"))
        return Parts(
            "preference",
            prompt,
            chosen=_as_answer(chosen_raw, "chosen"),
            rejected=_as_answer(rejected_raw, "rejected"),
            meta=_meta(row),
        )
    # TRL's implicit prompt: full conversations that share a prefix
    return _split_pair(_messages(chosen_raw, "chosen"), _messages(rejected_raw, "rejected"))


_TURN = re.compile(r"\n\n(Human|Assistant):[ ]?")


def parse_transcript(text: str, where: str) -> list[Message]:
    """An HH-RLHF transcript ("\\n\\nHuman: … \\n\\nAssistant: …") to messages."""
    if not isinstance(text, str):
        raise RowError(
            "wrong_type", f"{where} is {type(text).__name__}, expected a transcript string"
        )
    parts = _TURN.split(text if text.startswith("\n\n") else "\n\n" + text)
    if len(parts) < 3 or parts[0].strip():
        raise RowError(
            "bad_transcript", f"{where} does not start with a 'Human:' or 'Assistant:' turn"
        )
    roles = {"Human": "user", "Assistant": "assistant"}
    return [
        Message(role=roles[parts[i]], content=parts[i + 1])  # type: ignore[arg-type]
        for i in range(1, len(parts), 2)
    ]


def _split_pair(chosen: list[Message], rejected: list[Message]) -> Parts:
    common = 0
    while common < min(len(chosen), len(rejected)) - 1 and chosen[common] == rejected[common]:
        common += 1
    # the shared prompt must end with a user turn; the answers start with the assistant's
    while common > 0 and chosen[common - 1].role != "user":
        common -= 1
    prompt, c_ans, r_ans = chosen[:common], chosen[common:], rejected[common:]
    if not prompt:
        raise RowError(
            "bad_transcript", "chosen and rejected share no prompt ending in a user turn"
        )
    if not c_ans or not r_ans or c_ans[0].role != "assistant" or r_ans[0].role != "assistant":
        raise RowError(
            "bad_transcript", "chosen and rejected diverge before the assistant's answer"
        )
    return Parts("preference", _check_prompt(prompt), chosen=c_ans, rejected=r_ans)


def _hh_rlhf(row: dict[str, Any]) -> Parts:
    chosen = parse_transcript(_field(row, "chosen"), "chosen")
    rejected = parse_transcript(_field(row, "rejected"), "rejected")
    return _split_pair(chosen, rejected)


# ---------------------------------------------------------------------------------------------
# detection
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    name: str
    matches: Callable[[dict[str, Any]], bool]
    convert: Callable[[dict[str, Any]], Parts]
    description: str


def _is_transcript(value: Any) -> bool:
    return isinstance(value, str) and ("\n\nHuman:" in value or value.startswith("Human:"))


SHAPES: tuple[Shape, ...] = (
    Shape("sharegpt", lambda r: "conversations" in r, _sharegpt, "conversations of from/value"),
    Shape("openai", lambda r: "messages" in r, _openai, "messages of role/content"),
    Shape(
        "alpaca",
        lambda r: "instruction" in r and ("output" in r or "chosen" in r),
        _alpaca,
        "instruction/input/output",
    ),
    Shape(
        "hh_rlhf",
        lambda r: "prompt" not in r and _is_transcript(r.get("chosen")),
        _hh_rlhf,
        "chosen/rejected Human:/Assistant: transcripts",
    ),
    Shape(
        "preference",
        lambda r: "chosen" in r and "rejected" in r,
        _preference,
        "prompt/chosen/rejected",
    ),
    Shape(
        "prompt_completion",
        lambda r: "prompt" in r and "completion" in r,
        _prompt_completion,
        "prompt/completion",
    ),
    Shape(
        "prompt_response",
        lambda r: "prompt" in r and "response" in r,
        _prompt_response,
        "prompt/response",
    ),
)
SHAPES_BY_NAME = {s.name: s for s in SHAPES}


def detect_shape(rows: Sequence[dict[str, Any]]) -> Shape | None:
    """The shape most sample rows match (earlier shapes win ties); None if none matches."""
    best, best_count = None, 0
    for shape in SHAPES:
        count = sum(1 for r in rows if shape.matches(r))
        if count > best_count:
            best, best_count = shape, count
    return best


def expected_shapes() -> str:
    """A one-line list of the shapes tunesmith reads, for error messages."""
    return "; ".join(f"{s.name} ({s.description})" for s in SHAPES)
