"""The tool-call verifier: the answer's function calls are the reference calls (BFCL's AST rules).

The reference names, for each expected call, the function and its arguments, in one of three
equivalent forms::

    {"name": "f", "acceptable": {"a": [10], "unit": ["units", ""]}}   # BFCL-style lists
    {"name": "f", "arguments": {"a": 10}}                             # one value each
    {"f": {"a": [10], "unit": ["units", ""]}}                         # a BFCL ground_truth entry

``acceptable`` gives each parameter its list of acceptable values; ``""`` among them means the
parameter may be left out. A reference is one call, a list of calls, or ``{"calls": [...],
"tools": [...]}`` where ``tools`` are the function definitions offered to the model (OpenAI's
``{"type": "function", "function": {...}}`` or the bare ``{name, description, parameters}``;
BFCL's own docs with ``dict``/``float``/``tuple``/``any`` types are converted to JSON Schema).

Decisions, in order, each with its reason code:

- ``no_call``: nothing in the answer parses as a call (``parse_tool_calls``). This is the
  *format* failure; every other reason is a *substance* failure.
- ``wrong_count``: more or fewer calls than the reference has.
- ``wrong_function``: a call names another function (``.`` and ``_`` are the same in names, as
  BFCL allows for APIs that forbid dots).
- ``positional_argument``: an argument given by position (Python syntax), which has no name.
- ``missing_argument``: a parameter the function's schema requires, or one the reference
  expects with no ``""`` among its values, is absent.
- ``unexpected_argument``: a parameter that neither the schema nor the reference knows.
- ``schema_violation``: the arguments do not validate against the function's JSON Schema
  (``jsonschema``; an integer is a valid ``number``, as BFCL turns ints into floats).
- ``wrong_value``: a value is not among the acceptable ones. Strings compare as BFCL does:
  lower-cased, with spaces and ``,./-_*^`` removed and ``'`` read as ``"``, so ``April 1, 2024``
  equals ``april 1 2024``; lists compare element by element; a dict compares key by key against
  per-key lists of acceptable values (``""`` marking an optional key); numbers compare by value
  (``5 == 5.0``), booleans only with booleans.

Several reference calls (BFCL's parallel categories) match the answer's calls in any order.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict

from curate.errors import InputError
from curate.verify.tool_parse import ParsedCall, parse_tool_calls
from curate.verify.verification import Verification, correct, failed

_STRIP = re.compile(r"[ ,./\-_*^]")
_BFCL_TYPES = {"dict": "object", "float": "number", "tuple": "array"}


class ReferenceCall(BaseModel):
    """One expected call: the function and, per parameter, its acceptable values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    """The function's name."""
    acceptable: dict[str, list[Any]]
    """Parameter → acceptable values (``""`` among them: the parameter may be left out)."""


def reference_calls(reference: Any) -> list[ReferenceCall]:
    """The expected calls of a reference (any of the forms in the module docstring).

    Raises:
        InputError: the reference is not one of those forms.
    """
    if isinstance(reference, dict) and "calls" in reference:
        reference = reference["calls"]
    items = reference if isinstance(reference, list) else [reference]
    calls = [_reference_call(item) for item in items]
    if not calls:
        raise InputError("the tool_call reference names no call")
    return calls


def _reference_call(item: Any) -> ReferenceCall:
    if isinstance(item, ReferenceCall):
        return item
    if not isinstance(item, dict):
        raise InputError(f"a tool_call reference call is a mapping, not {item!r:.60}")
    if "name" in item and "acceptable" in item:
        return ReferenceCall(name=item["name"], acceptable=dict(item["acceptable"]))
    if "name" in item and ("arguments" in item or "parameters" in item):
        args = item.get("arguments", item.get("parameters")) or {}
        return ReferenceCall(name=item["name"], acceptable={k: [_lift(v)] for k, v in args.items()})
    if len(item) == 1:  # BFCL's ground_truth entry {function: {param: [values]}}
        ((name, params),) = item.items()
        if isinstance(params, dict) and all(isinstance(v, list) for v in params.values()):
            return ReferenceCall(name=name, acceptable=params)
    raise InputError(f"not a tool_call reference call: {json.dumps(item)[:80]}")


def _lift(value: Any) -> Any:
    """One exact value in the acceptable-values form (a dict's keys become one-value lists)."""
    if isinstance(value, dict):
        return {k: [_lift(v)] for k, v in value.items()}
    if isinstance(value, list):
        return [_lift(v) for v in value]
    return value


def example_arguments(call: ReferenceCall) -> dict[str, Any]:
    """The arguments of one right call: the first acceptable value of each parameter that is not
    ``""`` (parameters whose only value is ``""`` left out) — what the reference "renders" as."""
    return {
        name: _example(value)
        for name, values in call.acceptable.items()
        for value in [next((v for v in values if v != ""), "")]
        if value != ""
    }


def _example(option: Any) -> Any:
    if isinstance(option, dict):
        return {
            k: _example(v)
            for k, vals in option.items()
            for v in [next((x for x in vals if x != ""), "")]
            if v != ""
        }
    if isinstance(option, list):
        return [_example(v) for v in option]
    return option


def tool_schemas(tools: Any) -> dict[str, dict[str, Any]]:
    """Function name → its parameters' JSON Schema, from a list of tool definitions."""
    out: dict[str, dict[str, Any]] = {}
    for tool in tools or []:
        fn = tool.get("function", tool) if isinstance(tool, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise InputError(f"a tool definition needs a name: {json.dumps(tool)[:80]}")
        out[fn["name"]] = json_schema(fn.get("parameters") or {"type": "object"})
    return out


def json_schema(schema: Any) -> Any:
    """BFCL's parameter docs as JSON Schema: ``dict`` → ``object``, ``float`` → ``number``,
    ``tuple`` → ``array``, ``any`` → no type, the non-standard ``optional`` key dropped; already
    valid JSON Schema comes back unchanged."""
    if isinstance(schema, list):
        return [json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "optional":
            continue
        if key == "type" and isinstance(value, str):
            if value == "any":
                continue
            value = _BFCL_TYPES.get(value, value)
        elif key == "properties" and isinstance(value, dict):
            value = {k: json_schema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf"):
            value = json_schema(value)
        out[key] = value
    return out


def standardize(text: str) -> str:
    """BFCL's string normalisation: spaces and ``,./-_*^`` removed, lower case, ``'`` → ``"``."""
    return _STRIP.sub("", text).lower().replace("'", '"')


def _same_name(a: str, b: str) -> bool:
    return a.replace(".", "_") == b.replace(".", "_")


def matches(value: Any, option: Any) -> bool:
    """Whether one argument value is the acceptable value ``option`` (rules in the module
    docstring)."""
    if isinstance(option, dict):
        if not isinstance(value, dict):
            return False
        for key, got in value.items():
            if key not in option or not any(matches(got, o) for o in option[key] if o != ""):
                return False
        return all("" in vals for key, vals in option.items() if key not in value)
    if isinstance(option, list):
        return (
            isinstance(value, list | tuple)
            and len(value) == len(option)
            and all(matches(v, o) for v, o in zip(value, option, strict=True))
        )
    if isinstance(option, str):
        return isinstance(value, str) and standardize(value) == standardize(option)
    if isinstance(option, bool) or isinstance(value, bool):
        return isinstance(option, bool) and isinstance(value, bool) and value == option
    if isinstance(option, int | float):
        return isinstance(value, int | float) and value == option
    return bool(value == option)


class ToolCallVerifier(BaseModel):
    """The answer's tool calls are the reference's (see the module docstring for the forms,
    the rules and the reason codes). The answer is a model's text or its structured calls."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format_only: bool = False
    """Decide the format alone: the answer holds at least one parseable call (``no_call``
    otherwise); the reference is not read and may be None."""

    def verify(self, answer: Any, reference: Any) -> Verification:
        import jsonschema

        if self.format_only:
            calls = parse_tool_calls(answer)
            if not calls:
                return failed("no_call", "no parseable tool call in the answer")
            return correct(", ".join(c.name for c in calls))
        want = reference_calls(reference)
        schemas = tool_schemas(reference.get("tools") if isinstance(reference, dict) else None)
        for name, schema in schemas.items():
            try:
                jsonschema.validators.validator_for(schema).check_schema(schema)
            except jsonschema.SchemaError as e:
                raise InputError(f"tool {name!r} has no valid JSON Schema: {e.message}") from e
        got = parse_tool_calls(answer)
        if not got:
            return failed("no_call", "no parseable tool call in the answer")
        if len(got) != len(want):
            return failed("wrong_count", f"{len(got)} calls, expected {len(want)}")
        unmatched = list(range(len(got)))
        for ref in want:
            verdicts = [(i, self._one(got[i], ref, schemas.get(ref.name))) for i in unmatched]
            hit = next((i for i, v in verdicts if v.passed), None)
            if hit is None:
                # The most telling failure: one from a call to the right function, if any.
                named = [v for _, v in verdicts if v.reason != "wrong_function"]
                return (named or [verdicts[0][1]])[0]
            unmatched.remove(hit)
        return correct(", ".join(c.name for c in got))

    def _one(self, call: ParsedCall, ref: ReferenceCall, schema: dict[str, Any] | None) -> Any:
        import jsonschema

        if not _same_name(call.name, ref.name):
            return failed("wrong_function", f"called {call.name!r}, expected {ref.name!r}")
        if call.positional:
            return failed("positional_argument", f"{call.positional} argument(s) without a name")
        args = call.arguments
        required = schema.get("required", []) if schema else []
        missing = [p for p in required if p not in args]
        if missing:
            return failed("missing_argument", f"{ref.name}: required {missing[0]!r} is missing")
        known = set((schema or {}).get("properties", {})) if schema else set(ref.acceptable)
        extra = [p for p in args if p not in ref.acceptable or (schema and p not in known)]
        if extra:
            return failed("unexpected_argument", f"{ref.name}: unexpected {extra[0]!r}")
        if schema:
            validator = jsonschema.validators.validator_for(schema)(schema)
            errors = sorted(validator.iter_errors(args), key=lambda e: list(e.path))
            if errors:
                where = "/".join(str(p) for p in errors[0].path) or "(arguments)"
                return failed("schema_violation", f"{where}: {errors[0].message[:100]}")
        for param, value in args.items():
            options = [o for o in ref.acceptable[param] if o != ""]
            if not any(matches(value, o) for o in options):
                return failed(
                    "wrong_value",
                    f"{param}={json.dumps(value)[:60]}, expected one of {json.dumps(options)[:80]}",
                )
        absent = [p for p, vals in ref.acceptable.items() if p not in args and "" not in vals]
        if absent:
            return failed("missing_argument", f"{ref.name}: {absent[0]!r} is missing")
        return correct(call.name)
