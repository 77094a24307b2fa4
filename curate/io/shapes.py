"""Row shapes: detect which common SFT / chat / tool-call / preference shape a file uses, and
convert a row of that shape into canonical record parts.

Shapes: ``sharegpt`` (conversations of from/value, with LLaMA-Factory's chosen/rejected messages
and its function_call/observation turns), ``openai`` (messages of role/content, tool calls and
tool results, a ``tools`` list), ``oasst`` (OpenAssistant message trees: every root-to-leaf path
a conversation, sibling ranks as preference pairs), ``alpaca`` (instruction/input/output, or
chosen/rejected for preference), ``hh_rlhf`` (chosen/rejected transcripts
"\\n\\nHuman: … \\n\\nAssistant: …"), ``preference`` (prompt/chosen/rejected as strings or
messages, or TRL's implicit-prompt form), ``kto`` (TRL's unpaired prompt/completion/label),
``prompt_completion`` (strings or message lists, TRL's format), ``prompt_response`` (strings) and
``prompt_only`` (a prompt alone).

Every key of a row that the shape does not read is kept in the record's ``meta["input"]``; every
key of a message that is not a chat field is kept in the message's ``extra``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from curate.io.parts import Parts, RowError
from curate.io.parts import check_prompt as _check_prompt
from curate.io.parts import clean as _clean
from curate.io.parts import type_name as _type
from curate.records import INPUT_META, Message, ToolCall

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
    "ipython": "tool",
    "function_call": "assistant",
    "observation": "tool",
}

CHAT_KEYS = frozenset({"role", "content", "tool_calls", "tool_call_id", "name", "function_call"})
"""Message keys that are chat fields; any other key of a message goes to ``extra``."""


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
    if isinstance(value, bool):
        raise RowError("wrong_type", f"field {name!r} is a boolean, expected a string")
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise RowError("wrong_type", f"field {name!r} is {type(value).__name__}, expected a string")
    return _clean(value, name)


def _content(value: Any, where: str, *, may_be_null: bool = False) -> str | None:
    if isinstance(value, str):
        return _clean(value, where)
    if isinstance(value, list):  # OpenAI content parts
        texts = []
        for i, part in enumerate(value):
            if isinstance(part, dict) and part.get("type") == "text":
                text = part.get("text")
                if not isinstance(text, str):
                    reason = "null_text" if text is None else "wrong_type"
                    raise RowError(reason, f"{where}.content[{i}].text is {_type(text)}")
                texts.append(_clean(text, f"{where}.content[{i}]"))
            else:
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise RowError("unsupported_content", f"{where}: non-text content part {kind!r}")
        return "".join(texts)
    if value is None:
        if may_be_null:
            return None
        raise RowError("null_text", f"{where}: content is null")
    raise RowError("wrong_type", f"{where}: content is {_type(value)}, expected a string")


def _arguments(value: Any, where: str) -> str:
    """Tool-call arguments as JSON text, exactly as given where they are text."""
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if not isinstance(value, str):
        raise RowError("bad_tool_arguments", f"{where}.arguments is {_type(value)}, expected JSON")
    try:
        parsed = json.loads(value)
    except (json.JSONDecodeError, RecursionError) as e:
        raise RowError("bad_tool_arguments", f"{where}.arguments is not JSON ({e})") from None
    if not isinstance(parsed, dict):
        raise RowError(
            "bad_tool_arguments", f"{where}.arguments is a JSON {_type(parsed)}, expected an object"
        )
    return value


def _tool_call(value: Any, where: str) -> ToolCall:
    if not isinstance(value, dict):
        raise RowError("wrong_type", f"{where} is {_type(value)}, expected a tool call object")
    fn = value.get("function", value)  # OpenAI nests name/arguments under "function"
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
        raise RowError("missing_field", f"{where} needs a function name")
    if "arguments" not in fn:
        raise RowError("missing_field", f"{where} needs arguments")
    call_id = value.get("id")
    if call_id is not None and not isinstance(call_id, str):
        raise RowError("wrong_type", f"{where}.id is {_type(call_id)}, expected a string")
    return ToolCall(
        id=call_id,
        type=str(value.get("type") or "function"),
        name=fn["name"],
        arguments=_arguments(fn["arguments"], f"{where}.function"),
    )


def _tool_calls(value: Any, where: str) -> list[ToolCall]:
    if not isinstance(value, list):
        raise RowError("wrong_type", f"{where} is {_type(value)}, expected a list of tool calls")
    return [_tool_call(c, f"{where}[{i}]") for i, c in enumerate(value)]


def _message(m: Any, where: str, role_key: str, text_key: str) -> Message:
    if not isinstance(m, dict):
        raise RowError("wrong_type", f"{where} is {_type(m)}, expected an object")
    if role_key not in m:
        raise RowError("missing_field", f"{where} needs {role_key!r}")
    raw_role = str(m[role_key]).strip().lower()
    role = ROLE_ALIASES.get(raw_role)
    if role is None:
        raise RowError("unknown_role", f"{where} has role {m[role_key]!r}")
    if raw_role == "function_call":  # ShareGPT (LLaMA-Factory): the value is the call as JSON
        call = _sharegpt_call(m.get(text_key), where)
        return Message(
            role="assistant", content=None, tool_calls=[call], extra=_extra(m, role_key, text_key)
        )
    calls = None
    if m.get("tool_calls") is not None:
        calls = _tool_calls(m["tool_calls"], f"{where}.tool_calls")
    elif isinstance(m.get("function_call"), dict):  # OpenAI's legacy single call
        calls = [_tool_call(m["function_call"], f"{where}.function_call")]
    if calls is not None and role != "assistant":
        raise RowError("role_cannot_carry", f"{where}: a {role} message cannot carry tool_calls")
    call_id = m.get("tool_call_id")
    if call_id is not None and role != "tool":
        raise RowError("role_cannot_carry", f"{where}: a {role} message cannot carry tool_call_id")
    if call_id is not None and not isinstance(call_id, str):
        raise RowError("wrong_type", f"{where}.tool_call_id is {_type(call_id)}, expected a string")
    if text_key not in m and not calls:
        raise RowError("missing_field", f"{where} needs {role_key!r} and {text_key!r}")
    content = _content(m.get(text_key), where, may_be_null=bool(calls))
    name = m.get("name")
    return Message(
        role=role,  # type: ignore[arg-type]
        content=content,
        tool_calls=calls,
        tool_call_id=call_id,
        name=name if isinstance(name, str) else None,
        extra=_extra(m, role_key, text_key, keep_name=not isinstance(name, str)),
    )


def _extra(
    m: dict[str, Any], role_key: str, text_key: str, *, keep_name: bool = False
) -> dict[str, Any] | None:
    skip = {role_key, text_key} | (CHAT_KEYS - ({"name"} if keep_name else set()))
    # a null key reads as an absent one: a Parquet file of messages with different keys gives
    # every message every key, the absent ones null
    extra = {k: v for k, v in m.items() if k not in skip and v is not None}
    packed = extra.pop("extra", None)
    if isinstance(packed, str):  # tunesmith's Parquet keeps extra keys it cannot type as JSON
        try:
            unpacked = json.loads(packed)
        except (json.JSONDecodeError, RecursionError):
            unpacked = None
        if isinstance(unpacked, dict):
            extra = {**unpacked, **extra}
        else:
            extra["extra"] = packed
    elif packed is not None:
        extra["extra"] = packed
    return extra or None


def _sharegpt_call(value: Any, where: str) -> ToolCall:
    parsed = value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except (json.JSONDecodeError, RecursionError) as e:
            raise RowError(
                "bad_tool_arguments", f"{where}: the function call is not JSON ({e})"
            ) from None
    if isinstance(parsed, list) and len(parsed) == 1:
        parsed = parsed[0]
    if not isinstance(parsed, dict):
        raise RowError(
            "bad_tool_arguments",
            f"{where}: the function call is {_type(parsed)}, expected an object",
        )
    return _tool_call(parsed, where)


def _messages(
    value: Any, where: str, role_key: str = "role", text_key: str = "content"
) -> list[Message]:
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise RowError("wrong_type", f"{where} is {_type(value)}, expected a list of messages")
    return [_message(m, f"{where}[{i}]", role_key, text_key) for i, m in enumerate(value)]


def _as_answer(value: Any, where: str) -> list[Message]:
    if isinstance(value, str):
        return [Message(role="assistant", content=_clean(value, where))]
    if value is None:
        raise RowError("wrong_type", f"field {where!r} is null, expected a string or messages")
    return _messages(value, where)


def _as_prompt(value: Any, where: str) -> list[Message]:
    if isinstance(value, str):
        return [Message(role="user", content=_clean(value, where))]
    if value is None:
        raise RowError("wrong_type", f"field {where!r} is null, expected a string or messages")
    return _messages(value, where)


def _check_pair(chosen: list[Message], rejected: list[Message]) -> None:
    if [m.key() for m in chosen] == [m.key() for m in rejected]:
        raise RowError("identical_pair", "chosen and rejected are the same answer")


def _conversation(msgs: list[Message], where: str, meta: dict[str, Any], tools: Any) -> Parts:
    """A whole conversation: SFT split at its last assistant turn (every turn kept), or a
    prompt where no assistant turn closes it."""
    tools = _tools(tools)
    if msgs and msgs[-1].role == "assistant":
        prompt, completion = msgs[:-1], msgs[-1:]
        if not prompt:
            raise RowError("empty_prompt", f"{where} starts with the assistant's answer")
        return Parts("sft", _check_prompt(prompt), completion=completion, tools=tools, meta=meta)
    if not msgs:
        raise RowError("no_answer", f"{where} is empty")
    if not any(m.role == "assistant" for m in msgs):
        return Parts("prompt", _check_prompt(msgs), tools=tools, meta=meta)
    raise RowError(
        "no_answer",
        f"{where} ends with a {msgs[-1].role} turn after the assistant's (no final answer)",
    )


def _tools(value: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if isinstance(value, str):  # some exports keep the tool list as JSON text
        try:
            value = json.loads(value) if value.strip() else None
        except (json.JSONDecodeError, RecursionError) as e:
            raise RowError("wrong_type", f"field 'tools' is not JSON ({e})") from None
        if value is None:
            return None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise RowError("wrong_type", "field 'tools' is not a list of tool definitions")
    return value


def tool_schemas(tools: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """Function name → its definition (``{name, description, parameters}``) in a tools list,
    OpenAI's nested ``{"type": "function", "function": {...}}`` or flat."""
    out: dict[str, dict[str, Any]] = {}
    for tool in tools or []:
        fn = tool.get("function", tool)
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            out[fn["name"]] = fn
    return out


def _system(row: dict[str, Any]) -> list[Message]:
    system = row.get("system")
    if isinstance(system, str) and system.strip():
        return [Message(role="system", content=_clean(system, "system"))]
    return []


def _label(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise RowError("wrong_type", f"field 'label' is {value!r}, expected a boolean")


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
            Message(role="user", content=_clean(pair[0], f"history[{i}][0]")),
            Message(role="assistant", content=_clean(pair[1], f"history[{i}][1]")),
        ]
    prompt = _check_prompt([*prompt, Message(role="user", content=text)])
    if "chosen" in row and "rejected" in row:
        chosen = _as_answer(row["chosen"], "chosen")
        rejected = _as_answer(row["rejected"], "rejected")
        _check_pair(chosen, rejected)
        return Parts("preference", prompt, chosen=chosen, rejected=rejected)
    output = _string(row, "output")
    return Parts("sft", prompt, completion=[Message(role="assistant", content=output or "")])


def _sharegpt(row: dict[str, Any]) -> Parts:
    msgs = _messages(_field(row, "conversations"), "conversations", "from", "value")
    msgs = _system(row) + msgs
    if "chosen" in row and "rejected" in row:
        chosen = _messages(row["chosen"], "chosen", "from", "value")
        rejected = _messages(row["rejected"], "rejected", "from", "value")
        _check_pair(chosen, rejected)
        return Parts(
            "preference",
            _check_prompt(msgs),
            chosen=chosen,
            rejected=rejected,
            tools=_tools(row.get("tools")),
        )
    return _conversation(msgs, "conversations", {}, row.get("tools"))


def _openai(row: dict[str, Any]) -> Parts:
    msgs = _messages(_field(row, "messages"), "messages")
    return _conversation(msgs, "messages", {}, row.get("tools"))


def _meta(row: dict[str, Any]) -> dict[str, Any]:
    meta = row.get("meta")
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except (json.JSONDecodeError, RecursionError):
            return {}
    return meta if isinstance(meta, dict) else {}


def _prompt_completion(row: dict[str, Any]) -> Parts:
    prompt = _check_prompt(_system(row) + _as_prompt(_field(row, "prompt"), "prompt"))
    completion = _as_answer(_field(row, "completion"), "completion")
    return Parts(
        "sft", prompt, completion=completion, tools=_tools(row.get("tools")), meta=_meta(row)
    )


def _kto(row: dict[str, Any]) -> Parts:
    prompt = _check_prompt(_system(row) + _as_prompt(_field(row, "prompt"), "prompt"))
    completion = _as_answer(_field(row, "completion"), "completion")
    return Parts(
        "kto",
        prompt,
        completion=completion,
        label=_label(_field(row, "label")),
        tools=_tools(row.get("tools")),
        meta=_meta(row),
    )


def _prompt_only(row: dict[str, Any]) -> Parts:
    prompt = _check_prompt(_system(row) + _as_prompt(_field(row, "prompt"), "prompt"))
    return Parts("prompt", prompt, tools=_tools(row.get("tools")), meta=_meta(row))


def _prompt_response(row: dict[str, Any]) -> Parts:
    prompt = _check_prompt(_system(row) + _as_prompt(_field(row, "prompt"), "prompt"))
    return Parts("sft", prompt, completion=_as_answer(_field(row, "response"), "response"))


def _preference(row: dict[str, Any]) -> Parts:
    chosen_raw, rejected_raw = _field(row, "chosen"), _field(row, "rejected")
    if "prompt" in row:
        prompt = _check_prompt(_system(row) + _as_prompt(row["prompt"], "prompt"))
        chosen, rejected = _as_answer(chosen_raw, "chosen"), _as_answer(rejected_raw, "rejected")
        _check_pair(chosen, rejected)
        return Parts(
            "preference",
            prompt,
            chosen=chosen,
            rejected=rejected,
            tools=_tools(row.get("tools")),
            meta=_meta(row),
        )
    # TRL's implicit prompt: full conversations that share a prefix
    return _split_pair(_messages(chosen_raw, "chosen"), _messages(rejected_raw, "rejected"))


_TURN = re.compile(r"\n\n(Human|Assistant):[ ]?")


def parse_transcript(text: str, where: str) -> list[Message]:
    """An HH-RLHF transcript ("\\n\\nHuman: … \\n\\nAssistant: …") to messages."""
    if not isinstance(text, str):
        raise RowError("wrong_type", f"{where} is {_type(text)}, expected a transcript string")
    parts = _TURN.split(text if text.startswith("\n\n") else "\n\n" + text)
    if len(parts) < 3 or parts[0].strip():
        raise RowError(
            "bad_transcript", f"{where} does not start with a 'Human:' or 'Assistant:' turn"
        )
    roles = {"Human": "user", "Assistant": "assistant"}
    return [
        Message(role=roles[parts[i]], content=_clean(parts[i + 1], where))  # type: ignore[arg-type]
        for i in range(1, len(parts), 2)
    ]


def _split_pair(chosen: list[Message], rejected: list[Message]) -> Parts:
    _check_pair(chosen, rejected)
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
    convert: Callable[[dict[str, Any]], Parts | list[Parts]]
    description: str
    reads: frozenset[str]
    """The row keys the shape reads; every other key is an extra input column."""

    def parts(self, row: dict[str, Any]) -> list[Parts]:
        """The row's records' parts, each with the row's extra columns in ``meta["input"]``.

        A null field reads as an absent one: a Parquet file whose rows differ in their columns
        (several kinds, several sources) holds nulls where a row has no such column.
        """
        present = {k: v for k, v in row.items() if v is not None}
        made = self.convert(present)
        many = made if isinstance(made, list) else [made]
        extra = {k: v for k, v in present.items() if k not in self.reads}
        if not extra:
            return many
        return [
            Parts(
                p.kind,
                p.prompt,
                p.completion,
                p.chosen,
                p.rejected,
                p.label,
                p.tools,
                {**p.meta, INPUT_META: extra},
            )
            for p in many
        ]


def _is_transcript(value: Any) -> bool:
    return isinstance(value, str) and ("\n\nHuman:" in value or value.startswith("Human:"))


_ANSWER_KEYS = frozenset({"completion", "response", "chosen", "rejected", "output", "label"})
"""A row with any of these keys is not a prompt-only row."""


def _reads(*keys: str) -> frozenset[str]:
    return frozenset(keys)


_BY_KIND: dict[str, Callable[[dict[str, Any]], Parts]] = {}


def _by_kind(row: dict[str, Any]) -> Parts:
    """A file tunesmith wrote with several kinds: each row read by its ``kind`` column."""
    kind = row.get("kind")
    if not isinstance(kind, str) or kind not in _BY_KIND:
        known = ", ".join(sorted(_BY_KIND))
        raise RowError("unknown_kind", f"field 'kind' is {kind!r}; expected one of {known}")
    return _BY_KIND[kind](row)


def _oasst(row: dict[str, Any]) -> list[Parts]:
    from curate.io.oasst import tree_records

    return tree_records(row)


SHAPES: tuple[Shape, ...] = (
    Shape(
        "records",
        lambda r: r.get("kind") in _BY_KIND and "prompt" in r,
        _by_kind,
        "tunesmith's own output of several kinds (a kind column)",
        _reads(
            "kind", "prompt", "completion", "chosen", "rejected", "label", "system", "tools", "meta"
        ),
    ),
    Shape(
        "sharegpt",
        lambda r: "conversations" in r,
        _sharegpt,
        "conversations of from/value",
        _reads("conversations", "system", "chosen", "rejected", "tools"),
    ),
    Shape(
        "openai",
        lambda r: "messages" in r,
        _openai,
        "messages of role/content, tool calls included",
        _reads("messages", "tools"),
    ),
    Shape(
        "oasst",
        lambda r: "message_tree_id" in r and isinstance(r.get("prompt"), dict),
        _oasst,
        "OpenAssistant message trees",
        _reads("prompt"),
    ),
    Shape(
        "alpaca",
        lambda r: "instruction" in r and ("output" in r or "chosen" in r),
        _alpaca,
        "instruction/input/output",
        _reads("instruction", "input", "output", "system", "history", "chosen", "rejected"),
    ),
    Shape(
        "hh_rlhf",
        lambda r: "prompt" not in r and _is_transcript(r.get("chosen")),
        _hh_rlhf,
        "chosen/rejected Human:/Assistant: transcripts",
        _reads("chosen", "rejected"),
    ),
    Shape(
        "preference",
        lambda r: "chosen" in r and "rejected" in r,
        _preference,
        "prompt/chosen/rejected",
        _reads("prompt", "chosen", "rejected", "system", "tools", "meta"),
    ),
    Shape(
        "kto",
        lambda r: "prompt" in r and "completion" in r and "label" in r,
        _kto,
        "prompt/completion/label (unpaired preference)",
        _reads("prompt", "completion", "label", "system", "tools", "meta"),
    ),
    Shape(
        "prompt_completion",
        lambda r: "prompt" in r and "completion" in r,
        _prompt_completion,
        "prompt/completion",
        _reads("prompt", "completion", "system", "tools", "meta"),
    ),
    Shape(
        "prompt_response",
        lambda r: "prompt" in r and "response" in r,
        _prompt_response,
        "prompt/response",
        _reads("prompt", "response", "system"),
    ),
    Shape(
        "prompt_only",
        lambda r: (
            "prompt" in r and not isinstance(r.get("prompt"), dict) and not _ANSWER_KEYS & r.keys()
        ),
        _prompt_only,
        "a prompt alone",
        _reads("prompt", "system", "tools", "meta"),
    ),
)
SHAPES_BY_NAME = {s.name: s for s in SHAPES}
_BY_KIND.update(sft=_prompt_completion, preference=_preference, kto=_kto, prompt=_prompt_only)


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
