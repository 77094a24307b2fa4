"""The likelihood judge: the model's probability of "A" against "B" is its verdict.

A small generative judge mostly writes the letter of the answer shown first (the built-in 135M
model picked it 91 times in 96), or no valid JSON at all. The likelihood judge asks the same
question but parses nothing: it reads the next-token log-probabilities of ``A`` and ``B`` after
a prompt that shows both answers (``curate.models.logprobs``), in both orders, and averages the
two margins. A fixed preference for a position adds the same amount to both orders' margins with
opposite signs for the answer, so the average cancels it; what is left is the model's preference
for the answer itself.

The margin of one order is ``log p(letter of a) - log p(letter of b)``: positive when the judge
prefers ``a``. A pair is *position-consistent* when both orders' margins have the same sign (the
verdict does not flip when the order is swapped).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from curate.errors import InputError
from curate.models.generation import Generator
from curate.models.logprobs import choice_logprobs, supports_logprobs
from curate.records import Message

JudgeKind = Literal["likelihood", "generative"]
"""How a pairwise judge decides: next-token probabilities of A/B, or a generated reply."""

LOCAL_BACKENDS = ("transformers", "vllm")
"""Backends whose judge is the likelihood judge by default (measured: docs/benchmarks.md)."""

PAIR_QUESTION = "Answer with the letter of the better answer (A or B)."
YES_NO = ("Yes", "No")


def default_kind(backend: str) -> JudgeKind:
    """The judge kind a backend gets when none is configured: likelihood for local models."""
    return "likelihood" if backend in LOCAL_BACKENDS else "generative"


def resolve_kind(kind: JudgeKind | None, generator: Generator) -> JudgeKind:
    """``kind``, or the backend's default; likelihood only where the backend has log-probs.

    Raises:
        InputError: ``likelihood`` asked of a backend without log-probabilities.
    """
    if kind is None:
        kind = default_kind(generator.backend)
        return kind if kind == "generative" or supports_logprobs(generator) else "generative"
    if kind == "likelihood" and not supports_logprobs(generator):
        raise InputError(f"the {generator.backend} judge has no log-probabilities: use generative")
    return kind


class PairScore(BaseModel):
    """The likelihood judge's two margins on one pair, and the verdict."""

    model_config = ConfigDict(frozen=True)

    a_shown_first: float
    """``log p(A) - log p(B)`` with ``a`` shown as A: positive prefers ``a``."""
    a_shown_second: float
    """``log p(B) - log p(A)`` with ``a`` shown as B: positive prefers ``a``."""

    @property
    def margin(self) -> float:
        """The mean of both orders' margins: the verdict, with position bias cancelled."""
        return (self.a_shown_first + self.a_shown_second) / 2

    @property
    def prefers(self) -> Literal["a", "b", "tie"]:
        """The averaged verdict."""
        return "a" if self.margin > 0 else "b" if self.margin < 0 else "tie"

    @property
    def consistent(self) -> bool:
        """Both orders prefer the same answer (the verdict does not flip with the order)."""
        return (self.a_shown_first > 0) == (self.a_shown_second > 0)

    @property
    def first_position_picks(self) -> int:
        """Of the two orders, how many preferred the answer shown first (0, 1 or 2)."""
        return (self.a_shown_first > 0) + (self.a_shown_second < 0)


def pair_chat(prompt: str, first: str, second: str, question: str = PAIR_QUESTION) -> list[Message]:
    """The likelihood judge's chat for one order of one pair."""
    user = f"Question:\n{prompt}\n\nAnswer A:\n{first}\n\nAnswer B:\n{second}\n\n{question}"
    return [Message(role="user", content=user)]


def position_consistency(scores: Sequence[PairScore]) -> float | None:
    """Share of pairs whose verdict does not flip when the order is swapped."""
    return sum(s.consistent for s in scores) / len(scores) if scores else None


class LikelihoodJudge:
    """Judges pairs by the model's next-token probabilities of ``A`` and ``B``, both orders."""

    def __init__(self, generator: Generator, *, adapter: str | None = None) -> None:
        """Args:
        generator: a backend with log-probabilities (transformers, vllm, openai), cached or not.
        adapter: a LoRA adapter to judge with (None: the model itself).

        Raises:
            InputError: the backend exposes no log-probabilities.
        """
        if not supports_logprobs(generator):
            raise InputError(f"the {generator.backend} backend exposes no log-probabilities")
        self.generator = generator
        self.model = generator.model
        self.adapter = adapter
        self.cached = 0
        """Scores served from the generation cache so far."""

    def compare(
        self, items: Sequence[tuple[str, str, str]], question: str = PAIR_QUESTION
    ) -> list[PairScore]:
        """Scores for (prompt, a, b) triples, in order: each shown as (a, b) and as (b, a)."""
        chats = []
        for prompt, a, b in items:
            chats += [pair_chat(prompt, a, b, question), pair_chat(prompt, b, a, question)]
        got = self._logprobs(chats, ("A", "B"))
        return [
            PairScore(
                a_shown_first=got[2 * i]["A"] - got[2 * i]["B"],
                a_shown_second=got[2 * i + 1]["B"] - got[2 * i + 1]["A"],
            )
            for i in range(len(items))
        ]

    def yes_margins(self, chats: list[list[Message]]) -> list[float]:
        """``log p(Yes) - log p(No)`` as the first token of each chat's answer."""
        return [lp["Yes"] - lp["No"] for lp in self._logprobs(chats, YES_NO)]

    def _logprobs(self, chats: list[list[Message]], options: tuple[str, ...]) -> list[dict]:
        out = choice_logprobs(self.generator, chats, options, self.adapter)
        self.cached += sum(c.cached for c in out)
        return [c.logprobs for c in out]
