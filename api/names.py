"""Models and chat templates a tenant may name: built-in aliases and the server's allow-list.

Over the API a model or template field takes a *name the server knows*, never a path: the
server would otherwise read files a tenant names (another tenant's included) and answer
differently for paths that exist and paths that don't. Every refused value gets the same error
(the field and the names on offer; never the value, never whether it exists). The worker maps a
configured name to its folder or file just before calling the library (``resolve``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from api.config import ServerConfig
from curate import ALIASES, InputError


@dataclass(frozen=True)
class NameField:
    """A field of a job request that names a model or a template."""

    job_type: str
    path: tuple[str, ...]
    """Where it sits in the request (``config.semantic.model``)."""
    kind: Literal["model", "template"]
    component: str
    """The OpenAPI component (pydantic model) that declares it, and its property below."""
    prop: str
    optional: bool = False
    """Whether the field may be null (left to the library's default)."""

    @property
    def where(self) -> str:
        return ".".join(self.path)


FIELDS = (
    NameField("curate", ("config", "semantic", "model"), "model", "SemanticConfig", "model"),
    NameField(
        "curate",
        ("config", "contradictions", "judge", "model"),
        "model",
        "ContradictionJudgeConfig",
        "model",
    ),
    NameField("synthesize", ("config", "model"), "model", "SynthConfig", "model"),
    NameField("synthesize", ("config", "judge_model"), "model", "SynthConfig", "judge_model", True),
    NameField("train", ("config", "base_model"), "model", "TrainConfig", "base_model"),
    NameField(
        "train", ("config", "chat_template"), "template", "TrainConfig", "chat_template", True
    ),
    NameField("eval", ("model",), "model", "EvalJob", "model"),
)
"""Every request field that names a model or a template."""

SAME_FIELDS_AS = {"sweep": "train"}
"""Job types whose requests carry another type's named fields at the same paths (a sweep's
``config`` is a train job's)."""


def model_names(config: ServerConfig) -> list[str]:
    """Model names a tenant may use: the built-in aliases, then the server's own."""
    return [*ALIASES, *(n for n in config.models if n not in ALIASES)]


def template_names(config: ServerConfig) -> list[str]:
    """Chat template names a tenant may use (only the server's own)."""
    return list(config.templates)


def names_for(kind: str, config: ServerConfig) -> list[str]:
    """The names a field of ``kind`` accepts."""
    return model_names(config) if kind == "model" else template_names(config)


def _get(model: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        model = getattr(model, part)
    return model


def check(request: BaseModel, job_type: str, config: ServerConfig) -> None:
    """Refuse a request whose model or template fields are not names the server offers.

    Raises:
        InputError: the first such field, with the names on offer (the same message whatever
            the refused value was: a path that exists, one that doesn't, an unknown name).
    """
    job_type = SAME_FIELDS_AS.get(job_type, job_type)
    for f in FIELDS:
        if f.job_type != job_type:
            continue
        value = _get(request, f.path)
        if value is None and f.optional:
            continue
        offered = names_for(f.kind, config)
        if value not in offered:
            what = "a model" if f.kind == "model" else "a chat template"
            choices = ", ".join(offered) or "none are configured"
            unset = " (or leave it unset)" if f.optional else ""
            raise InputError(
                f"{f.where}: not {what} this server offers; name one of: {choices}{unset}"
            )


def _replace(model: BaseModel, path: tuple[str, ...], value: Any) -> BaseModel:
    head, rest = path[0], path[1:]
    inner = value if not rest else _replace(getattr(model, head), rest, value)
    return model.model_copy(update={head: inner})


def resolve(request: BaseModel, job_type: str, mapping: dict[str, dict[str, str]]) -> Any:
    """The request with every configured name replaced by its folder or file (in the worker).

    ``mapping`` is ``{"model": {name: folder}, "template": {name: file}}`` from the server's
    config; built-in aliases stay as they are (the library resolves them).
    """
    job_type = SAME_FIELDS_AS.get(job_type, job_type)
    for f in FIELDS:
        if f.job_type != job_type:
            continue
        value = _get(request, f.path)
        target = mapping.get(f.kind, {}).get(value) if value is not None else None
        if target is not None:
            request = _replace(request, f.path, target)
    return request
