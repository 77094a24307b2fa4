"""The JSON Schema verifier: the answer's JSON validates against the reference schema."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict

from curate.errors import InputError
from curate.models.json_reply import parse_json
from curate.verify.verification import Verification, correct, failed


def answer_json(text: str) -> tuple[Any, bool]:
    """The JSON of an answer: the whole answer (one Markdown fence allowed), else the first JSON
    object or array in it, prose around it allowed. Returns ``(value, found)``."""
    value, error = parse_json(text)
    if error is None:
        return value, True
    decoder = json.JSONDecoder()
    for start in (m.start() for m in re.finditer(r"[\[{]", text)):
        try:
            return decoder.raw_decode(text, start)[0], True
        except ValueError:
            continue
    return None, False


class JsonSchemaVerifier(BaseModel):
    """The answer's JSON (see ``answer_json``: the whole answer, else the first JSON object or
    array in it) validates against the reference, a JSON Schema given as a dict or its JSON text.
    The schema's ``$schema`` picks the draft; without one, the latest draft ``jsonschema`` knows.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    def verify(self, answer: str, reference: Any) -> Verification:
        import jsonschema

        try:
            schema = json.loads(reference) if isinstance(reference, str) else reference
        except json.JSONDecodeError as e:
            raise InputError(f"the JSON Schema reference is not JSON: {e.msg}") from e
        validator_class = jsonschema.validators.validator_for(schema)
        try:
            validator_class.check_schema(schema)
        except jsonschema.SchemaError as e:
            raise InputError(f"the reference is not a valid JSON Schema: {e.message}") from e
        value, found = answer_json(answer)
        if not found:
            return failed("invalid_json", "no JSON value in the answer")
        errors = sorted(validator_class(schema).iter_errors(value), key=lambda e: list(e.path))
        if errors:
            where = "/".join(str(p) for p in errors[0].path) or "(root)"
            return failed("schema_violation", f"{where}: {errors[0].message[:100]}")
        return correct()
