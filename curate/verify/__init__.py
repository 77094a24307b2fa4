"""Verifiers: a program, not a judge, decides whether an answer is right.

One implementation serves synthesis (rejection sampling, verified negative pairs) and evaluation
(suite checks), so it sits in ``curate``, the base layer both can import. A record's meta or a
suite case names its verifier and its reference; ``get_verifier`` builds the verifier by name.
Every verifier has one method, ``verify(answer, reference) -> Verification``.
"""

from curate.verify.code_tests import CodeTestConfig, CodeTestsVerifier
from curate.verify.json_schema import JsonSchemaVerifier
from curate.verify.numeric import NumericVerifier
from curate.verify.registry import VERIFIERS, get_verifier
from curate.verify.text import ExactVerifier, RegexVerifier
from curate.verify.tool_call import ReferenceCall, ToolCallVerifier, reference_calls
from curate.verify.tool_parse import ParsedCall, parse_tool_calls
from curate.verify.verification import Verification, Verifier

__all__ = [
    "VERIFIERS",
    "CodeTestConfig",
    "CodeTestsVerifier",
    "ExactVerifier",
    "JsonSchemaVerifier",
    "NumericVerifier",
    "ParsedCall",
    "ReferenceCall",
    "RegexVerifier",
    "ToolCallVerifier",
    "Verification",
    "Verifier",
    "get_verifier",
    "parse_tool_calls",
    "reference_calls",
]
