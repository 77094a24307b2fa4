"""Conversations through the chat template: template-shaped messages, and the trained tokens.

What this module computes is what the trainer trains and what the pre-flight checks, from one
place.

Why we tokenize SFT conversations ourselves rather than use TRL's ``assistant_only_loss``: that
option needs ``{% generation %}`` markers in the template, and TRL only patches the template
families it knows (SmolLM2's is not one of them); a hand-written marker per family would be a
second copy of every template to keep in step. Prefix renders work with any template as it is:
assistant turn *i* starts where the conversation up to *i* rendered with the generation prompt
ends, and stops where the conversation through *i* ends — so the trained span is the turn's text
and its end-of-turn token, exactly what the model must produce at inference. The template must be
prefix-preserving (earlier turns render the same whatever follows); where it is not, the pre-flight
says so for that record instead of training on a mask that would be wrong. The ids and mask go to
TRL's SFTTrainer pre-tokenized (``input_ids`` + ``assistant_masks``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from curate import Message


def _arguments(text: str) -> Any:
    """Arguments as most templates take them: the parsed object (the stored text is unchanged)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text  # not JSON: the template gets the text as given
    return value if isinstance(value, dict) else text


def template_message(message: Message) -> dict[str, Any]:
    """A message as chat templates take it: ``Message.to_chat``, with each tool call in Hugging
    Face templates' shape ``{id, type, function: {name, arguments}}``, arguments parsed."""
    out = message.to_chat()
    if message.tool_calls:
        out["tool_calls"] = [
            {**c.to_openai(), "function": {"name": c.name, "arguments": _arguments(c.arguments)}}
            for c in message.tool_calls
        ]
    return out


def template_messages(messages: list[Message] | None) -> list[dict[str, Any]]:
    """Messages as chat templates take them."""
    return [template_message(m) for m in messages or []]


def render(
    tokenizer,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None = None,
    add_generation_prompt: bool = False,
) -> str:
    """The template's text for a conversation (and its tool definitions)."""
    return tokenizer.apply_chat_template(
        messages, tools=tools or None, tokenize=False, add_generation_prompt=add_generation_prompt
    )


def _encode(tokenizer, text: str) -> list[int]:
    # As apply_chat_template(tokenize=True) does: the template writes any special tokens itself.
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@dataclass
class Tokenized:
    """A conversation's tokens and which of them are trained."""

    input_ids: list[int]
    """The whole conversation, rendered by the template."""
    spans: list[tuple[int, int]]
    """Token ``[start, end)`` of each assistant turn, in order (end-of-turn token included)."""
    text: str
    """The rendered text."""

    @property
    def assistant_masks(self) -> list[int]:
        """1 on trained tokens (every assistant turn), 0 elsewhere."""
        mask = [0] * len(self.input_ids)
        for start, end in self.spans:
            mask[start:end] = [1] * (end - start)
        return mask


def tokenize_conversation(
    tokenizer, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
) -> Tokenized:
    """Render a conversation and find every assistant turn's tokens by prefix renders.

    Raises:
        ValueError: the template renders an earlier turn differently once later turns follow
            (not prefix-preserving), so no exact mask exists; or the template itself fails.
    """
    text = render(tokenizer, messages, tools)
    ids = _encode(tokenizer, text)
    spans: list[tuple[int, int]] = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = render(tokenizer, messages[:i], tools, add_generation_prompt=True)
        through = render(tokenizer, messages[: i + 1], tools)
        if not (text.startswith(before) and text.startswith(through)):
            raise ValueError(
                f"the chat template is not prefix-preserving: assistant turn {i} renders "
                "differently once later turns follow, so its trained tokens cannot be found"
            )
        start = _common_prefix(_encode(tokenizer, before), ids)
        end = _common_prefix(_encode(tokenizer, through), ids)
        spans.append((start, max(start, end)))
    return Tokenized(input_ids=ids, spans=spans, text=text)


def trained_span(
    tokenizer, prompt: list[dict], answer: list[dict], tools: list[dict] | None = None
) -> tuple[list[int], int]:
    """Token ids of prompt + answer, and where the trained (answer) tokens start — as TRL's DPO
    and KTO trainers compute it."""
    from trl.data_utils import common_prefix_length

    kwargs = {"tools": tools or None, "tokenize": True, "return_dict": True}
    prompt_ids = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, **kwargs)[
        "input_ids"
    ]
    full_ids = tokenizer.apply_chat_template(prompt + answer, **kwargs)["input_ids"]
    return list(full_ids), common_prefix_length(prompt_ids, full_ids)


Segment = tuple[tuple[int, int], list[dict]]
"""A trained token span ``[start, end)`` and the assistant messages it must hold."""


class Sequence(NamedTuple):
    """One token sequence a row trains."""

    messages: list[dict]
    """The messages rendered."""
    text: str
    """The rendered text."""
    ids: list[int]
    """Its token ids."""
    segments: list[Segment]
    """The trained spans and the assistant messages each must hold."""


def sequences(tokenizer, row: dict[str, Any], answers: tuple[str, ...]) -> list[Sequence]:
    """Each sequence a trainer row (``train.data.TrainingData.rows``) trains, with its segments.

    SFT (a ``messages`` row): one sequence, the whole conversation, a segment per assistant turn.
    DPO/KTO: one sequence per answer column in ``answers``, its answer tokens as TRL computes them.
    """
    tools = row.get("tools")
    if "messages" in row:
        messages = row["messages"]
        tok = tokenize_conversation(tokenizer, messages, tools)
        turns = [m for m in messages if m["role"] == "assistant"]
        segments = [(span, [m]) for span, m in zip(tok.spans, turns, strict=True)]
        return [Sequence(messages, tok.text, tok.input_ids, segments)]
    out = []
    for column in answers:
        messages = row["prompt"] + row[column]
        ids, start = trained_span(tokenizer, row["prompt"], row[column], tools)
        text = render(tokenizer, messages, tools)
        out.append(Sequence(messages, text, ids, [((start, len(ids)), row[column])]))
    return out


def mask_view(tokenizer, ids: list[int], spans: list[tuple[int, int]], limit: int = 1500) -> str:
    """The rendered sequence with each trained span between ⟦ and ⟧ (the debug view)."""
    parts, at = [], 0
    for start, end in spans:
        parts += [tokenizer.decode(ids[at:start]), "⟦", tokenizer.decode(ids[start:end]), "⟧"]
        at = end
    parts.append(tokenizer.decode(ids[at:]))
    text = "".join(parts)
    return text if len(text) <= limit else text[: limit // 2] + " … " + text[-limit // 2 :]


def _shows_arguments(arguments: Any, text: str) -> bool:
    """True when every key and scalar value of the parsed arguments appears in the text."""
    if not isinstance(arguments, dict):
        return str(arguments) in text
    for key, value in arguments.items():
        if str(key) not in text:
            return False
        scalar = isinstance(value, str | int | float) and not isinstance(value, bool)
        if scalar and str(value) not in text:
            return False
    return True


def unrendered_tools(
    text: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
) -> str | None:
    """What of a conversation's tool calls and tool definitions the rendered text lacks, or None.

    A template that ignores ``tool_calls`` renders a calling turn empty (or fails on its null
    content); one that ignores ``tools`` never shows the model what it may call.
    """
    for message in messages:
        for call in message.get("tool_calls") or []:
            function = call["function"]
            if function["name"] not in text:
                return f"the tool call {function['name']!r}"
            if not _shows_arguments(function["arguments"], text):
                return f"the arguments of the tool call {function['name']!r}"
    for tool in tools or []:
        name = (tool.get("function") or tool).get("name")
        if name and name not in text:
            return f"the tool definition {name!r}"
    return None


def has_tools(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> bool:
    """True when a conversation makes tool calls or carries tool definitions."""
    return bool(tools) or any(m.get("tool_calls") for m in messages)
