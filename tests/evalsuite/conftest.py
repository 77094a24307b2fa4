"""Builders for simulated runs (pure logic tests) and a fake judge model."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from curate.models.generation import Generation, SamplingParams
from curate.records import Message
from evalsuite import metrics as m
from evalsuite.checks import CheckResult
from evalsuite.health import health
from evalsuite.manifest import Manifest
from evalsuite.run import CaseResult, RunResult

SIM_METRICS = {
    "pass": m.PASS,
    "format_pass": m.FORMAT_PASS,
    "substance_pass": m.SUBSTANCE_PASS,
    "score:rouge": m.score_metric("rouge", "substance"),
    "health:truncated": m.health_metric("truncated"),
    "words": m.WORDS,
}


def manifest(**overrides: object) -> Manifest:
    fields: dict = dict(
        suite_name="sim",
        suite_sha256="s" * 64,
        n_cases=0,
        prompts_sha256="p" * 64,
        chat_template_sha256=None,
        model="sim-model",
        model_sha256=None,
        backend="sim",
        params={"temperature": 0.0, "max_tokens": 64},
    )
    fields.update(overrides)
    return Manifest(**fields)


def make_run(
    values: dict[str, Sequence[float]],
    *,
    tags: Sequence[Sequence[str]] | None = None,
    outputs: Sequence[str] | None = None,
    **manifest_fields: object,
) -> RunResult:
    """A run whose cases carry the given per-case metric values."""
    n = len(next(iter(values.values())))
    cases = []
    for i in range(n):
        metrics = {k: float(v[i]) for k, v in values.items()}
        checks = [
            CheckResult(
                name="numeric",
                type="numeric",
                kind="substance",
                passed=bool(metrics.get("substance_pass", metrics.get("pass", 1))),
            )
        ]
        text = outputs[i] if outputs else f"answer {i}"
        cases.append(
            CaseResult(
                id=f"c{i}",
                tags=list(tags[i]) if tags else [],
                messages=[Message(role="user", content=f"question {i}")],
                output=text,
                finish_reason="stop",
                checks=checks,
                health=health(text, "stop"),
                metrics=metrics,
            )
        )
    infos = {k: SIM_METRICS[k] for k in values}
    return RunResult(manifest=manifest(n_cases=n, **manifest_fields), metrics=infos, cases=cases)


@pytest.fixture()
def run_of() -> Callable[..., RunResult]:
    return make_run


def null_pair(rng: np.random.Generator, n: int) -> tuple[RunResult, RunResult]:
    """Base and tuned drawn from the same per-case distributions (no true difference)."""
    difficulty = rng.beta(2, 2, size=n)
    fmt = rng.uniform(0.6, 1.0, size=n)
    rouge_mu = rng.uniform(0.2, 0.8, size=n)

    def draw() -> dict[str, np.ndarray]:
        sub = rng.random(n) < difficulty
        form = rng.random(n) < fmt
        return {
            "pass": (sub & form).astype(float),
            "format_pass": form.astype(float),
            "substance_pass": sub.astype(float),
            "score:rouge": np.clip(rouge_mu + rng.normal(0, 0.15, n), 0, 1),
            "health:truncated": (rng.random(n) < 0.05).astype(float),
        }

    return make_run(draw()), make_run(draw())


@pytest.fixture()
def null_pair_of() -> Callable[[np.random.Generator, int], tuple[RunResult, RunResult]]:
    return null_pair


class AlwaysFirstJudge:
    """A judge model that always prefers the answer shown first, in valid strict JSON."""

    backend = "fake"
    model = "always-first"

    def __init__(self, reply: str = '{"winner": "A", "reason": "A is first"}') -> None:
        self.reply = reply
        self.calls = 0

    def generate(
        self, chats: list[list[Message]], params: SamplingParams, adapter: str | None = None
    ) -> list[Generation]:
        self.calls += len(chats)
        return [Generation(text=self.reply, finish_reason="stop") for _ in chats]


class ContentJudge:
    """A judge that prefers whichever answer contains the word "correct" (position-blind)."""

    backend = "fake"
    model = "content"

    def generate(
        self, chats: list[list[Message]], params: SamplingParams, adapter: str | None = None
    ) -> list[Generation]:
        out = []
        for chat in chats:
            body = chat[-1].content
            a = body.split("[Answer A]")[1].split("[Answer B]")[0]
            b = body.split("[Answer B]")[1]
            winner = (
                "A"
                if "correct" in a and "correct" not in b
                else ("B" if "correct" in b and "correct" not in a else "tie")
            )
            out.append(Generation(text=json.dumps({"winner": winner}), finish_reason="stop"))
        return out


@pytest.fixture()
def fake_judges() -> tuple[type, type]:
    return AlwaysFirstJudge, ContentJudge
