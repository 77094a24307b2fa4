"""LLM judges: a blind pairwise judge that sees both orders, and a rubric grader for checks.

The pairwise judge sees the two answers unlabelled as "A" and "B", once with the base answer
first and once with the tuned answer first. A verdict counts only when both orders agree; an
inconsistent pair is a tie, so a judge that always prefers one position produces only ties. Every
verdict is strict JSON validated against a schema (the whole reply, one code fence allowed); an
invalid reply is re-asked a bounded number of times (``curate.ask_json``), then counted as
invalid (never guessed).

``EvalJudgeConfig.kind`` picks the pairwise judge: ``generative`` (the JSON verdicts above) or
``likelihood`` (``curate.synth.likelihood``: the judge model's next-token probability of "A"
against "B", in both orders, averaged, so a position bias cancels; its verdict is the averaged
one, and each order's own verdict still feeds the position-consistency figure). None takes the
backend's default: likelihood for local models (transformers, vLLM), generative for servers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from curate import Generator, JudgeKind, LikelihoodJudge, Message, ask_json, resolve_kind

Side = Literal["base", "tuned", "tie", "invalid"]

PAIRWISE_SYSTEM = (
    "You are an impartial judge. Compare two answers to the user's question for correctness, "
    "helpfulness and how well they follow the user's instructions. The order of the answers "
    "and their length must not influence you. Reply with only a JSON object, nothing else: "
    '{"winner": "A" | "B" | "tie", "reason": "<one sentence>"}'
)
RUBRIC_SYSTEM = (
    "You are a strict grader. Grade the answer against the rubric from 1 (fails it) to 5 "
    "(fully meets it). Reply with only a JSON object, nothing else: "
    '{"score": <1-5>, "reason": "<one sentence>"}'
)


class EvalJudgeConfig(BaseModel):
    """Which model judges, and how."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    """The judge model (alias, folder, hub id, or a served model's name)."""
    backend: str = "transformers"
    """The generator backend for the judge."""
    base_url: str | None = None
    """The server URL for the ``openai`` backend."""
    max_retries: int = Field(2, ge=0, le=5)
    """Re-asks after an invalid verdict before it counts as invalid."""
    max_tokens: int = Field(96, ge=8)
    """The most tokens a verdict may take."""
    kind: JudgeKind | None = None
    """The pairwise judge: ``likelihood`` or ``generative``; None: likelihood for local
    backends (transformers, vLLM), generative for OpenAI-compatible servers."""


class PairVerdict(BaseModel):
    """The strict JSON a pairwise judge must reply with."""

    model_config = ConfigDict(extra="forbid")

    winner: Literal["A", "B", "tie"]
    reason: str = ""


class RubricVerdict(BaseModel):
    """The strict JSON a rubric grader must reply with."""

    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5)
    reason: str = ""


class PairJudgment(BaseModel):
    """Both orders' verdicts on one case and the verdict that counts."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    """The case."""
    base_first: Side
    """The winner when the base answer was shown as A."""
    tuned_first: Side
    """The winner when the tuned answer was shown as A."""
    verdict: Side
    """The agreed winner; ``tie`` when the orders disagree; ``invalid`` when one order failed."""
    base_words: int
    """Words in the base answer."""
    tuned_words: int
    """Words in the tuned answer."""
    identical: bool = False
    """Both answers were the same text: a tie without asking the judge (it counts in the
    win/tie/loss figures, not in the judge's reliability figures)."""


class JudgeSummary(BaseModel):
    """Win/tie/loss of tuned against base, with the judge's own reliability figures."""

    model_config = ConfigDict(frozen=True)

    n: int
    """Pairs judged (invalid ones included)."""
    tuned_wins: int
    """Pairs where both orders preferred the tuned answer."""
    ties: int
    """Pairs judged a tie, or where the two orders disagreed."""
    base_wins: int
    """Pairs where both orders preferred the base answer."""
    invalid: int
    """Pairs without a valid verdict in both orders after retries."""
    retries: int
    """Re-asks spent on invalid replies."""
    position_consistency: float | None
    """Share of the valid pairs the judge was asked about whose two orders agreed (1.0 is a
    position-blind judge); identical answers, never asked, do not count."""
    first_position_rate: float | None
    """Share of decisive single-order verdicts that chose the answer shown first (0.5 = no bias)."""
    longer_wins_rate: float | None
    """Share of decisive single-order verdicts, between answers of different length, that chose
    the longer one (0.5 = no length bias)."""
    judge: EvalJudgeConfig | None = None
    """The judge's config."""
    judgments: list[PairJudgment] = Field(default_factory=list)
    """Per case."""


def _pair_chat(prompt: str, first: str, second: str, reference: str | None) -> list[Message]:
    body = f"[Question]\n{prompt}\n\n"
    if reference:
        body += f"[Reference answer]\n{reference}\n\n"
    body += f"[Answer A]\n{first}\n\n[Answer B]\n{second}\n\nWhich answer is better?"
    return [Message(role="system", content=PAIRWISE_SYSTEM), Message(role="user", content=body)]


def _side(verdict: PairVerdict | None, a_is: Side, b_is: Side) -> Side:
    if verdict is None:
        return "invalid"
    return a_is if verdict.winner == "A" else b_is if verdict.winner == "B" else "tie"


class PairItem(BaseModel):
    """One case to judge pairwise."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    prompt: str
    base: str
    tuned: str
    reference: str | None = None


def judge_pairs(
    generator: Generator, items: Sequence[PairItem], config: EvalJudgeConfig | None = None
) -> JudgeSummary:
    """Judge base against tuned on every item, in both orders, blind.

    Args:
        generator: The judge model.
        items: The cases with both answers.
        config: Retries and token budget (and the judge's identity, for the record).
    """
    if resolve_kind(config.kind if config else None, generator) == "likelihood":
        return _likelihood_pairs(generator, items, config)
    max_retries = config.max_retries if config else 2
    max_tokens = config.max_tokens if config else 96
    chats = []
    for it in items:
        chats.append(_pair_chat(it.prompt, it.base, it.tuned, it.reference))
        chats.append(_pair_chat(it.prompt, it.tuned, it.base, it.reference))
    verdicts, retries = ask_json(
        generator, chats, PairVerdict, max_tokens=max_tokens, max_retries=max_retries
    )
    judgments = []
    for k, it in enumerate(items):
        ab = _side(verdicts[2 * k], "base", "tuned")
        ba = _side(verdicts[2 * k + 1], "tuned", "base")
        if "invalid" in (ab, ba):
            verdict: Side = "invalid"
        else:
            verdict = ab if ab == ba else "tie"
        judgments.append(
            PairJudgment(
                case_id=it.case_id,
                base_first=ab,
                tuned_first=ba,
                verdict=verdict,
                base_words=len(it.base.split()),
                tuned_words=len(it.tuned.split()),
            )
        )
    return summarise(judgments, retries=retries, config=config)


def _likelihood_pairs(
    generator: Generator, items: Sequence[PairItem], config: EvalJudgeConfig | None
) -> JudgeSummary:
    """The likelihood judge on every item: base as ``a``, tuned as ``b``, both orders."""
    scores = LikelihoodJudge(generator).compare(
        [
            (
                f"{it.prompt}\n\nReference answer:\n{it.reference}" if it.reference else it.prompt,
                it.base,
                it.tuned,
            )
            for it in items
        ]
    )
    judgments = []
    for it, s in zip(items, scores, strict=True):
        verdict: Side = "base" if s.prefers == "a" else "tuned" if s.prefers == "b" else "tie"
        judgments.append(
            PairJudgment(
                case_id=it.case_id,
                base_first="base" if s.a_shown_first > 0 else "tuned",
                tuned_first="base" if s.a_shown_second > 0 else "tuned",
                verdict=verdict,
                base_words=len(it.base.split()),
                tuned_words=len(it.tuned.split()),
            )
        )
    return summarise(judgments, config=config)


def summarise(
    judgments: list[PairJudgment], *, retries: int = 0, config: EvalJudgeConfig | None = None
) -> JudgeSummary:
    """Counts and reliability figures over per-case judgments."""
    valid = [j for j in judgments if j.verdict != "invalid"]
    asked = [j for j in valid if not j.identical]
    first = longer = decisive = differing = 0
    for j in valid:
        # (winner, side shown first) for each order
        for winner, shown_first in ((j.base_first, "base"), (j.tuned_first, "tuned")):
            if winner not in ("base", "tuned"):
                continue
            decisive += 1
            first += winner == shown_first
            if j.base_words != j.tuned_words:
                differing += 1
                longer_side = "base" if j.base_words > j.tuned_words else "tuned"
                longer += winner == longer_side
    consistent = sum(j.base_first == j.tuned_first for j in asked)
    return JudgeSummary(
        n=len(judgments),
        tuned_wins=sum(j.verdict == "tuned" for j in judgments),
        ties=sum(j.verdict == "tie" for j in judgments),
        base_wins=sum(j.verdict == "base" for j in judgments),
        invalid=len(judgments) - len(valid),
        retries=retries,
        position_consistency=consistent / len(asked) if asked else None,
        first_position_rate=first / decisive if decisive else None,
        longer_wins_rate=longer / differing if differing else None,
        judge=config,
        judgments=judgments,
    )


class LLMRubricJudge:
    """Grades answers against a rubric with a judge model (for ``judge`` checks)."""

    def __init__(self, generator: Generator, config: EvalJudgeConfig | None = None) -> None:
        self.generator = generator
        self.config = config
        self.retries = 0
        """Re-asks spent so far."""

    def grade(
        self, rubric: str, prompt: str, answer: str, reference: str | None
    ) -> tuple[int, str] | None:
        """A grade 1–5 and a reason, or None when the judge gave no valid verdict."""
        body = f"[Rubric]\n{rubric}\n\n[Question]\n{prompt}\n\n"
        if reference:
            body += f"[Reference answer]\n{reference}\n\n"
        body += f"[Answer]\n{answer}"
        chat = [Message(role="system", content=RUBRIC_SYSTEM), Message(role="user", content=body)]
        (verdict,), retries = ask_json(
            self.generator,
            [chat],
            RubricVerdict,
            max_tokens=self.config.max_tokens if self.config else 96,
            max_retries=self.config.max_retries if self.config else 2,
        )
        self.retries += retries
        if verdict is None:
            return None
        return verdict.score, verdict.reason
