"""An LLM judge for answer pairs: do two answers to one question contradict, and which to keep.

Any ``Generator`` serves (the built-in SmolLM2 on the CPU, an OpenAI-compatible server, vLLM).
The judge must answer with one JSON object (``curate.models.json_reply``); a reply that is not
one is asked again with the parse error, at most ``max_retries`` times, and then the pair stays
undecided (``None``): a judge that cannot follow the format never decides anything.

``ContradictionJudgeConfig.kind`` = ``likelihood`` parses no reply: it reads the model's next-token probabilities (``curate.synth.likelihood``), each question
asked in both orders and the two margins averaged. "Can both be right?" (Yes/No) decides
``contradict``; "which is correct?" (A/B) decides ``keep``, but only where both orders agree:
a proposal drops data, and a verdict that flips with the order is no evidence. It is not the
default here, unlike the other pairwise judges: a likelihood judge always answers, and the
built-in model measured at chance against human preferences (docs/benchmarks.md), so by default
it would confirm divergent pairs as contradictions at random; the generative judge, which
decides nothing when it cannot write its verdict, stays the default.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from curate.models.generation import Generator
from curate.models.json_reply import ask_json, first_object
from curate.records import Message
from curate.synth.likelihood import JudgeKind, LikelihoodJudge, resolve_kind

SYSTEM = (
    "You check training data for contradictions. Two answers to the same question are shown. "
    "Reply with one JSON object and nothing else: "
    '{"contradict": true or false, "keep": "A" or "B" or "neither", "reason": "<one sentence>"}. '
    '"contradict" is true when both answers cannot be right at the same time; "keep" names the '
    "answer that is correct, or neither when you cannot tell."
)


class JudgeVerdict(BaseModel):
    """The judge's strict JSON verdict on one pair."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    contradict: bool
    """Whether the two answers cannot both be right."""
    keep: Literal["A", "B", "neither"] = "neither"
    """The answer the judge believes correct."""
    reason: str = ""
    """One sentence of why."""


class ContradictionJudgeConfig(BaseModel):
    """The optional LLM judge of answer pairs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: str | None = None
    """Generator backend (``transformers``, ``openai``, ``vllm``); None: no judge."""
    model: str = "smollm2-135m"
    """The judge model: an alias, a folder or a hub id."""
    max_pairs: int = Field(200, ge=0)
    """At most this many pairs are judged (divergent pairs and tied clusters first)."""
    max_retries: int = Field(2, ge=0)
    """Times a reply that is not the JSON verdict is asked again before giving up."""
    max_tokens: int = Field(96, ge=16)
    """Tokens the judge may write per reply (generative)."""
    kind: JudgeKind = "generative"
    """``generative`` (JSON verdicts) or ``likelihood`` (next-token probabilities, both orders
    averaged; see the module docstring for why it is not the default here)."""


def build_chat(prompt: str, a: str, b: str) -> list[Message]:
    """The judge's chat for one pair."""
    user = f"Question:\n{prompt}\n\nAnswer A:\n{a}\n\nAnswer B:\n{b}\n\nYour JSON verdict:"
    return [Message(role="system", content=SYSTEM), Message(role="user", content=user)]


def parse_verdict(text: str) -> JudgeVerdict:
    """The first JSON object of a reply as a verdict; ValueError says why it is not one."""
    return first_object(text, JudgeVerdict)


class Judge:
    """Asks a Generator about pairs, with bounded retries; counts what it asked and got."""

    def __init__(
        self, generator: Generator, config: ContradictionJudgeConfig | None = None
    ) -> None:
        self.generator = generator
        self.config = config or ContradictionJudgeConfig()
        self.calls = 0
        self.failures = 0

    def judge(self, pairs: list[tuple[str, str, str]]) -> list[JudgeVerdict | None]:
        """Verdicts for (prompt, answer A, answer B) triples, in order; None where unparseable.

        Pairs are sent as one batch per round; only the replies that failed go round again.
        """
        if resolve_kind(self.config.kind, self.generator) == "likelihood":
            verdicts: list[JudgeVerdict | None] = list(self._likelihood(pairs))
            self.calls += 4 * len(pairs)
            return verdicts
        # The verdict may sit inside prose: small judges rarely reply with the object alone.
        verdicts, retries = ask_json(  # type: ignore[assignment]
            self.generator,
            [build_chat(*p) for p in pairs],
            JudgeVerdict,
            max_tokens=self.config.max_tokens,
            max_retries=self.config.max_retries,
            parse=first_object,
        )
        self.calls += len(pairs) + retries
        self.failures += sum(v is None for v in verdicts)
        return verdicts

    def _likelihood(self, pairs: list[tuple[str, str, str]]) -> list[JudgeVerdict]:
        judge = LikelihoodJudge(self.generator)
        both = [build_chat(p, x, y)[1:] for p, a, b in pairs for x, y in ((a, b), (b, a))]
        # the system prompt asks for JSON: the likelihood questions replace it
        yes = judge.yes_margins(
            [
                [
                    Message(
                        role="user",
                        content=(c[0].content or "").removesuffix(JSON_ASK) + BOTH_RIGHT,
                    )
                ]
                for c in both
            ]
        )
        keep = judge.compare(pairs, question=WHICH_CORRECT)
        out = []
        for i, score in enumerate(keep):
            can_both = (yes[2 * i] + yes[2 * i + 1]) / 2
            side = "neither" if not score.consistent else "A" if score.prefers == "a" else "B"
            out.append(
                JudgeVerdict(
                    contradict=can_both < 0,
                    keep=side,  # type: ignore[arg-type]
                    reason=f"likelihood: both-right margin {can_both:.3f}, "
                    f"A-over-B margins {score.a_shown_first:.3f}, {score.a_shown_second:.3f}",
                )
            )
        return out


JSON_ASK = "Your JSON verdict:"
BOTH_RIGHT = "Can both answers be right at the same time? Reply Yes or No."
WHICH_CORRECT = "Which answer is correct? Reply with one letter, A or B."
