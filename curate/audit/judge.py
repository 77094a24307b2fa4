"""An LLM judge for answer pairs: do two answers to one question contradict, and which to keep.

Any ``Generator`` serves (the built-in SmolLM2 on the CPU, an OpenAI-compatible server, vLLM).
The judge must answer with one JSON object (``curate.models.json_reply``); a reply that is not
one is asked again with the parse error, at most ``max_retries`` times, and then the pair stays
undecided (``None``): a judge that cannot follow the format never decides anything.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from curate.models.generation import Generator
from curate.models.json_reply import ask_json, first_object
from curate.records import Message

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
    """Tokens the judge may write per reply."""


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
        # The verdict may sit inside prose: small judges rarely reply with the object alone.
        verdicts, retries = ask_json(
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
