"""Tool calls out of a model's text: the common forms small models emit, parsed without eval.

``parse_tool_calls`` reads, in this order, and returns the calls of the first form that holds
any:

1. ``<tool_call>…</tool_call>`` blocks (the last one may be left open at the end of the text);
   each block holds a JSON call, a JSON list of calls, or Python-call syntax. Calls of all the
   blocks are returned together (a block that does not parse adds none).
2. The first Markdown code fence, else the whole answer: a JSON call (``{"name": …,
   "arguments": {…}}``, ``"parameters"`` accepted for ``"arguments"``, arguments given as an
   object or as its JSON text, OpenAI's ``{"type": "function", "function": {…}}`` and
   ``{"tool_calls": […]}`` wrappers too), a JSON list of calls, or Python calls:
   ``f(a=1, b="x")``, ``[f(a=1), g.h(b=2)]``, or one call a line.
3. The first JSON call or list of calls embedded in prose.

Python calls inside prose are not looked for: ``the area (in units)`` would read as a call.
Python syntax is read with ``ast.parse`` and the values are built from the syntax tree by hand
(literals, lists, tuples as lists, dicts, negative numbers, and JSON's ``true``/``false``/
``null`` written bare), so nothing in the text is ever evaluated.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_TAG = re.compile(r"<tool_call>(.*?)(?:</tool_call>|\Z)", re.DOTALL)
_FENCE = re.compile(r"```[ \t]*[\w+-]*[^\n]*\n(.*?)```", re.DOTALL)
_BARE = {"true": True, "false": False, "null": None, "none": None}


class ParsedCall(BaseModel):
    """One function call read from a model's output."""

    model_config = ConfigDict(frozen=True)

    name: str
    """The function's name as written (``math.factorial``)."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    """The named arguments."""
    positional: int = 0
    """How many arguments were given by position (Python syntax only), which a tool call
    cannot name and so cannot match."""


def parse_tool_calls(answer: str | list[Any] | dict[str, Any]) -> list[ParsedCall]:
    """The tool calls in an answer: its text (see the module docstring for the forms read), or
    structured calls already parsed by a server (OpenAI ``tool_calls`` entries, or
    ``{"name", "arguments"}`` dicts). An empty list means no parseable call."""
    if not isinstance(answer, str):
        return _from_json(answer)
    calls = [call for block in _TAG.findall(answer) for call in _parse_block(block)]
    if calls:
        return calls
    fence = _FENCE.search(answer)
    if fence:
        calls = _parse_block(fence.group(1))
        if calls:
            return calls
    return _parse_block(answer)


def _parse_block(text: str) -> list[ParsedCall]:
    text = text.strip()
    if not text:
        return []
    try:
        return _from_json(json.loads(text))
    except ValueError:
        pass
    calls = _python_calls(text)
    if calls:
        return calls
    decoder = json.JSONDecoder()
    for start in (m.start() for m in re.finditer(r"[\[{]", text)):
        try:
            calls = _from_json(decoder.raw_decode(text, start)[0])
        except ValueError:
            continue
        if calls:
            return calls
    return []


def _from_json(value: Any) -> list[ParsedCall]:
    if isinstance(value, dict) and isinstance(value.get("tool_calls"), list):
        value = value["tool_calls"]
    items = value if isinstance(value, list) else [value]
    calls = [_json_call(item) for item in items]
    # A list counts only when every item is a call: a list of numbers is not a set of calls.
    if not calls or any(c is None for c in calls):
        return []
    return [c for c in calls if c is not None]


def _json_call(item: Any) -> ParsedCall | None:
    if isinstance(item, ParsedCall):
        return item
    if hasattr(item, "model_dump"):  # a pydantic tool-call model (curate.records.ToolCall)
        item = item.model_dump()
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("function"), dict):  # OpenAI's {"type": "function", "function": …}
        item = item["function"]
    name = item.get("name")
    key = "arguments" if "arguments" in item else "parameters" if "parameters" in item else None
    if not isinstance(name, str) or not name.strip() or key is None:
        return None
    args = item[key]
    if isinstance(args, str):  # OpenAI sends the arguments as JSON text
        try:
            args = json.loads(args) if args.strip() else {}
        except ValueError:
            return None
    if args is None:
        args = {}
    if not isinstance(args, dict):
        return None
    return ParsedCall(name=name.strip(), arguments=args)


def _python_calls(text: str) -> list[ParsedCall]:
    try:
        tree = ast.parse(text, mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    nodes: list[ast.expr] = []
    for stmt in tree.body:
        if not isinstance(stmt, ast.Expr):
            return []
        value = stmt.value
        nodes.extend(value.elts if isinstance(value, ast.List | ast.Tuple) else [value])
    calls = []
    for node in nodes:
        call = _python_call(node)
        if call is None:
            return []
        calls.append(call)
    return calls


def _python_call(node: ast.expr) -> ParsedCall | None:
    if not isinstance(node, ast.Call):
        return None
    name = _dotted(node.func)
    if name is None:
        return None
    args: dict[str, Any] = {}
    try:
        for kw in node.keywords:
            if kw.arg is None:  # **kwargs: not a literal call
                return None
            args[kw.arg] = _literal(kw.value)
        for arg in node.args:
            _literal(arg)
    except (ValueError, RecursionError):
        return None
    return ParsedCall(name=name, arguments=args, positional=len(node.args))


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def _literal(node: ast.expr) -> Any:
    """A value from its syntax tree: literals and containers only, never evaluated."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):  # {**other}
            raise ValueError("dict unpacking")
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values, strict=True)}  # type: ignore[arg-type]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _literal(node.operand)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Name) and node.id.lower() in _BARE:
        return _BARE[node.id.lower()]
    raise ValueError(f"not a literal: {ast.dump(node)[:40]}")
