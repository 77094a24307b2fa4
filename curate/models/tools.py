"""Tools (function definitions) in prompts: through the chat template, or in the system prompt.

A chat that offers tools carries them as a list of OpenAI-style definitions
(``{"type": "function", "function": {"name", "description", "parameters"}}``; a bare
``{"name", ...}`` is wrapped). Local backends pass them to the model's chat template
(``apply_chat_template(messages, tools=tools)``). A template that ignores ``tools`` renders the
same text with and without them (SmolLM2-135M-Instruct's does); then, and only then, the
definitions go into the system prompt instead (``tools_in_system``), so the model still sees
them. That text is fixed and deterministic: the case's own system message (if any), a blank
line, then ``TOOLS_PROMPT`` with one definition per line as compact JSON in the order given.
It follows the shape of the function-calling prompt SmolLM2's authors published (definitions
inside ``<tools>``, calls as a JSON list inside ``<tool_call>``).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

TOOLS_PROMPT = (
    "You may call the functions defined below, as JSON Schema, one definition a line:\n"
    "<tools>\n{tools}\n</tools>\n"
    "To call functions, reply with only the calls, as a JSON list inside <tool_call> tags, "
    "with argument values of the types the schema gives:\n"
    '<tool_call>[{{"name": <function name>, "arguments": {{<argument name>: <value>, ...}}}}, ...]'
    "</tool_call>"
)
"""The system-prompt text for templates that ignore ``tools``; ``{tools}`` is the definitions.
The shape of a call is given with ``<placeholders>``, not as a JSON example, so a model that
copies it verbatim writes no parseable call (a literal example such as ``"function_name"``
was copied as is by SmolLM2-135M and counted as a well-formed call)."""


def openai_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tool definitions in OpenAI's ``{"type": "function", "function": {...}}`` form."""
    return [t if "function" in t else {"type": "function", "function": t} for t in tools]


def tools_in_system(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The messages with the tool definitions written into the system prompt (appended to the
    first system message after a blank line, or as a new first system message)."""
    lines = "\n".join(json.dumps(t, ensure_ascii=False) for t in openai_tools(tools))
    block = TOOLS_PROMPT.format(tools=lines)
    if messages and messages[0].get("role") == "system":
        first = dict(messages[0])
        own = first.get("content") or ""
        first["content"] = f"{own}\n\n{block}" if own else block
        return [first, *messages[1:]]
    return [{"role": "system", "content": block}, *messages]


def template_uses_tools(tokenizer: Any, messages: list[dict[str, Any]], tools: list[Any]) -> bool:
    """Whether the tokenizer's chat template renders ``tools`` (it changes the prompt)."""
    plain = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    with_tools = tokenizer.apply_chat_template(
        messages, tools=tools, tokenize=False, add_generation_prompt=True
    )
    return bool(plain != with_tools)


def render_chat(
    tokenizer: Any, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
) -> str:
    """The prompt text of one chat: the template with ``tools``, or, where the template ignores
    them, the template over ``tools_in_system(messages, tools)``."""
    if not tools:
        text: str = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return text
    defs = openai_tools(tools)
    if template_uses_tools(tokenizer, messages, defs):
        text = tokenizer.apply_chat_template(
            messages, tools=defs, tokenize=False, add_generation_prompt=True
        )
        return text
    text = tokenizer.apply_chat_template(
        tools_in_system(messages, defs), tokenize=False, add_generation_prompt=True
    )
    return text


def tool_calls_text(content: str, tool_calls: list[dict[str, Any]] | None) -> str:
    """A server's structured ``tool_calls`` as text after the content: one
    ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` line per call, which
    ``curate.verify.parse_tool_calls`` reads back."""
    parts = [content] if content else []
    for call in tool_calls or []:
        fn = call.get("function", call)
        args = fn.get("arguments")
        if isinstance(args, str):
            # Kept as the server sent it when it is not JSON: the verifier finds no call then.
            with contextlib.suppress(ValueError):
                args = json.loads(args) if args.strip() else {}
        body = json.dumps({"name": fn.get("name"), "arguments": args}, ensure_ascii=False)
        parts.append(f"<tool_call>{body}</tool_call>")
    return "\n".join(parts)
