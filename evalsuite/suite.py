"""Suites: files of cases (input messages, optional reference, tags, checks).

A suite file is JSONL (one case per line) or YAML/JSON (a mapping with ``name``, optional
``description``, optional ``default_checks`` for cases that name none, and ``cases``). A case::

    {"id": "gsm8k-0007", "prompt": "How many ...?", "reference": "A: 18",
     "tags": ["arithmetic", "canary"], "checks": [{"type": "numeric"}]}

``prompt`` may be a string (one user turn) or a list of messages; ``messages`` is the same.
``tools`` (optional) lists the function definitions the model is offered, OpenAI-style
(``{"type": "function", "function": {"name", "description", "parameters"}}``); the generator
passes them to the chat template, and ``tool_call`` checks validate calls against them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from curate import ConfigError, Message, NotFoundError
from evalsuite.checks import Check, CheckContext

CANARY_TAG = "canary"
"""Cases with this tag are canaries: the default gate policy lets none of them regress."""


class Case(BaseModel):
    """One benchmark case."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    """Unique within the suite; comparisons pair cases by it."""
    messages: list[Message] = Field(min_length=1)
    """The conversation to answer; it ends with a user turn."""
    reference: Any = None
    """The reference answer (text, number or JSON object) that checks may compare with."""
    tags: list[str] = Field(default_factory=list)
    """Slices: the edge-case family, ``canary`` for must-not-regress cases."""
    checks: list[Check] = Field(default_factory=list)
    """What the answer must satisfy (names unique within the case)."""
    meta: dict[str, Any] = Field(default_factory=dict)
    """Open annotations (where the case came from, why it was mined)."""
    tools: list[dict[str, Any]] | None = None
    """The function definitions offered to the model (JSON Schema parameters), or None."""

    @model_validator(mode="before")
    @classmethod
    def _prompt_shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and "prompt" in data:
            data = dict(data)
            prompt = data.pop("prompt")
            if "messages" in data:
                raise ValueError("give either prompt or messages, not both")
            data["messages"] = (
                [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
            )
            if system := data.pop("system", None):
                data["messages"] = [{"role": "system", "content": system}, *data["messages"]]
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Case:
        if self.messages[-1].role != "user":
            raise ValueError("the conversation must end with a user turn")
        names = [c.name or c.type for c in self.checks]
        if len(set(names)) != len(names):
            raise ValueError(f"check names repeat: {names}; give repeated types a name")
        for check in self.checks:
            if _needs_reference(check) and self.reference is None:
                raise ValueError(f"check {check.name or check.type!r} needs a reference")
            if check.type == "tool_call":  # a bad reference or schema fails here, not mid-run
                check.check_reference(CheckContext(reference=self.reference, tools=self.tools))
        return self

    @property
    def prompt_text(self) -> str:
        """The last user message."""
        return self.messages[-1].text

    @property
    def canary(self) -> bool:
        """True for must-not-regress cases."""
        return CANARY_TAG in self.tags


# The field that, when left empty, makes a check fall back to the case's reference.
_REFERENCE_FIELD = {
    "exact": "value",
    "numeric": "value",
    "rouge_l": "reference",
    "json_fields": "reference",
    "tool_call": "reference",
}


def _needs_reference(check: Any) -> bool:
    own = _REFERENCE_FIELD.get(check.type)
    return own is not None and getattr(check, own) is None


class Suite(BaseModel):
    """A named, ordered set of cases."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    """The suite's name (defaults to the file's stem)."""
    description: str = ""
    """What the suite probes."""
    cases: list[Case] = Field(min_length=1)
    """The cases, in order; ids are unique."""

    @model_validator(mode="after")
    def _unique_ids(self) -> Suite:
        seen: set[str] = set()
        dupes = [c.id for c in self.cases if c.id in seen or seen.add(c.id)]  # type: ignore[func-returns-value]
        if dupes:
            raise ValueError(f"case ids repeat: {sorted(set(dupes))[:5]}")
        return self

    def sha256(self) -> str:
        """A hash of the cases' content (ids, messages, references, tags, checks)."""
        return hashlib.sha256(self.canonical().encode()).hexdigest()

    def canonical(self) -> str:
        """Canonical JSON of the cases (what ``sha256`` hashes; meta excluded)."""
        body = [c.model_dump(mode="json", exclude={"meta"}, exclude_none=True) for c in self.cases]
        return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def tags(self) -> list[str]:
        """Every tag used, sorted."""
        return sorted({t for c in self.cases for t in c.tags})


def load_suite(path: str | Path) -> Suite:
    """Read a suite file (JSONL, YAML or JSON).

    Raises:
        NotFoundError: the file does not exist.
        ConfigError: a case does not validate; the message names the file, line and field.
    """
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"suite file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        header: dict[str, Any] = {"name": path.stem}
        cases = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                cases.append(Case.model_validate(json.loads(line)))
            except (json.JSONDecodeError, ValidationError) as e:
                raise ConfigError(f"{path}:{lineno}: {_short(e)}") from e
        return _suite(path, {**header, "cases": cases})
    try:
        data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except (yaml.YAMLError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path}: not valid {path.suffix[1:].upper()}: {e}") from e
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise ConfigError(f"{path}: a suite file is a mapping with a 'cases' list")
    defaults = data.pop("default_checks", None) or []
    cases = []
    for i, raw in enumerate(data.pop("cases")):
        if isinstance(raw, dict) and not raw.get("checks"):
            raw = {**raw, "checks": defaults}
        try:
            cases.append(Case.model_validate(raw))
        except ValidationError as e:
            raise ConfigError(f"{path}: case #{i} ({_case_id(raw)}): {_short(e)}") from e
    return _suite(path, {"name": path.stem, **data, "cases": cases})


def _suite(path: Path, data: dict[str, Any]) -> Suite:
    try:
        return Suite.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{path}: {_short(e)}") from e


def save_suite(suite: Suite, path: str | Path) -> Path:
    """Write a suite as JSONL (one case per line); ``load_suite`` reads it back equal."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for case in suite.cases:
            f.write(
                json.dumps(
                    case.model_dump(mode="json", exclude_none=True, by_alias=True),
                    ensure_ascii=False,
                )
                + "\n"
            )
    return path


def _case_id(raw: Any) -> str:
    return str(raw.get("id", "?")) if isinstance(raw, dict) else "?"


def _short(e: Exception) -> str:
    if isinstance(e, ValidationError):
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        return f"{where}: {err['msg']}" if where else err["msg"]
    return str(e)
