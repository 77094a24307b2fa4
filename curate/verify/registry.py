"""Verifiers by name, because a record's meta or a suite case names the one it wants.

``numeric``, ``exact``, ``regex``, ``json_schema``, ``code_tests`` and ``tool_call`` (the
answer's tool calls match the reference calls, BFCL-style).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from curate.errors import ConfigError, InputError
from curate.verify.code_tests import CodeTestsVerifier
from curate.verify.json_schema import JsonSchemaVerifier
from curate.verify.numeric import NumericVerifier
from curate.verify.text import ExactVerifier, RegexVerifier
from curate.verify.tool_call import ToolCallVerifier
from curate.verify.verification import Verifier

VERIFIERS: dict[str, type[BaseModel]] = {
    "numeric": NumericVerifier,
    "exact": ExactVerifier,
    "regex": RegexVerifier,
    "json_schema": JsonSchemaVerifier,
    "code_tests": CodeTestsVerifier,
    "tool_call": ToolCallVerifier,
}
"""Verifier name → class; its fields are the options ``get_verifier`` accepts."""


def get_verifier(name: str, **options: Any) -> Verifier:
    """A verifier by name.

    Args:
        name: ``numeric``, ``exact``, ``regex``, ``json_schema``, ``code_tests`` or
            ``tool_call``.
        **options: the verifier's fields: ``rel_tol``, ``abs_tol`` for numeric;
            ``ignore_case`` for exact; ``full``, ``ignore_case`` for regex; ``config``
            (a ``CodeTestConfig`` or its dict of limits) for code_tests.

    Raises:
        InputError: an unknown name.
        ConfigError: an unknown or invalid option.
    """
    if name not in VERIFIERS:
        raise InputError(f"unknown verifier {name!r}; choose one of {', '.join(VERIFIERS)}")
    try:
        verifier: Verifier = VERIFIERS[name](**options)  # type: ignore[assignment]
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"the {name} verifier's option {where}: {first['msg']}") from e
    return verifier
