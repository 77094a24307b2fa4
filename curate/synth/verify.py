"""Verification of preference pairs: is the "rejected" answer really worse?

Weak preference data gives unstable gains, so a pair is kept only when:

1. chosen and rejected are not near-duplicates (nothing to learn from a pair that barely differs);
2. a judge (any backend) prefers chosen in **both** orders, chosen shown first and then second
   (position swap): a judge that always picks the first answer keeps nothing;
3. the judge does not call the two equally good in either order (the "rejected" would be correct).

With the likelihood judge (``SynthConfig.judge_kind``, the default for local backends) steps 2
and 3 become one: the mean of both orders' "A"-vs-"B" log-probability margins must favour
chosen (``curate.synth.likelihood``); a pair it does not is dropped as ``rejected_preferred``.
Each order's own verdict still counts in ``consistent`` and ``first_position_wins``.

The length-bias figures show whether the kept pairs merely teach "longer is better".
"""

from __future__ import annotations

import difflib
import re
from typing import Literal

from pydantic import BaseModel

from curate.models.generation import Generator, SamplingParams
from curate.records import Message, Record, text_of
from curate.synth.common import Drop, Progress, generate_in_chunks, last_user
from curate.synth.config import SynthConfig
from curate.synth.likelihood import LikelihoodJudge, resolve_kind
from curate.synth.templates import load_template

PairChoice = Literal["A", "B", "TIE"]
"""A judge's choice between two answers shown as A and B, or a tie."""

# "A", "B." or "TIE" alone on the first line, or "B is better"; not the article in "A good answer".
_LEAD = re.compile(r"^\W*(TIE|A|B)(?=$|[^\w\s]|\s*\n|\s+is\s+(?:better|correct))", re.I)
_NAMED = re.compile(r"\b(?:answer|response|option)\s*\(?([AB])\b", re.I)


def parse_verdict(text: str) -> PairChoice | None:
    """The judge's verdict from its reply: a leading ``A``/``B``/``TIE``, or "Answer A", or a tie
    stated in words; None when the reply names neither."""
    stripped = text.strip()
    match = _LEAD.match(stripped)
    if match and (match.group(1).isupper() or match.group(1).lower() == "tie"):
        return match.group(1).upper()  # type: ignore[return-value]
    named = {m.upper() for m in _NAMED.findall(stripped)}
    if len(named) == 1:
        return named.pop()  # type: ignore[return-value]
    if re.search(
        r"\b(tie|equally good|both (?:are )?(?:equally )?(?:good|correct))\b", stripped, re.I
    ):
        return "TIE"
    return None


def similarity(a: str, b: str) -> float:
    """How alike two answers are (difflib's ratio, 0 to 1)."""
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


class PairFigures(BaseModel):
    """What verification saw."""

    judge_kind: str | None = None
    """``likelihood`` or ``generative``: how the judge decided."""
    judged: int = 0
    """Pairs shown to the judge (both orders)."""
    consistent: int = 0
    """Pairs where the judge picked the same answer in both orders."""
    first_position_wins: int = 0
    """Verdicts (of 2 per judged pair) that picked the answer shown first: position bias."""
    chosen_longer_all: float | None = None
    """Share of all generated pairs whose chosen answer is longer than the rejected."""
    chosen_longer_kept: float | None = None
    """Share of kept pairs whose chosen answer is longer (near 1.0: the set teaches length)."""
    judge_prefers_longer: float | None = None
    """Share of decisive verdicts that went to the longer answer."""
    position_consistency: float | None = None
    """``consistent / judged``: share of judged pairs whose verdict does not flip when the
    order is swapped."""


def verify_pairs(
    pairs: list[Record],
    judge: Generator | None,
    config: SynthConfig,
    *,
    progress: Progress | None = None,
) -> tuple[list[Record], list[Drop], PairFigures]:
    """Keep the pairs whose rejected answer is verifiably worse; say why each other one went."""
    figures = PairFigures()
    drops: list[Drop] = []
    candidates: list[Record] = []
    for pair in pairs:
        chosen, rejected = text_of(pair.chosen), text_of(pair.rejected)
        ratio = similarity(chosen, rejected)
        if ratio >= config.pair_similarity:
            drops.append(
                Drop(
                    _source(pair),
                    "near_duplicate_pair",
                    {"similarity": round(ratio, 4), "rejected": rejected},
                )
            )
        else:
            candidates.append(pair)
    figures.chosen_longer_all = _longer_share(pairs)
    if judge is None or not config.judge:
        figures.chosen_longer_kept = _longer_share(candidates)
        return candidates, drops, figures

    figures.judge_kind = resolve_kind(config.judge_kind, judge)
    if figures.judge_kind == "likelihood":
        liked, more = _likelihood(candidates, judge, figures)
        figures.chosen_longer_kept = _longer_share(liked)
        figures.position_consistency = _rate(figures.consistent, figures.judged)
        return liked, drops + more, figures
    template = load_template("judge", config.templates_dir)
    chats: list[list[Message]] = []
    for pair in candidates:
        prompt, chosen, rejected = (
            last_user(pair.prompt),
            text_of(pair.chosen),
            text_of(pair.rejected),
        )
        for a, b in ((chosen, rejected), (rejected, chosen)):
            chats.append([Message(role="user", content=template.render(prompt=prompt, a=a, b=b))])
    params = SamplingParams(max_tokens=config.judge_max_tokens)
    replies = generate_in_chunks(
        judge, chats, params, chunk=config.chunk, stage="judge", progress=progress
    )
    kept: list[Record] = []
    longer_wins = decisive = 0
    for i, pair in enumerate(candidates):
        first, second = (parse_verdict(replies[2 * i + k].text) for k in (0, 1))
        figures.judged += 1
        figures.first_position_wins += (first == "A") + (second == "A")
        chosen_longer = len(text_of(pair.chosen)) > len(text_of(pair.rejected))
        for verdict, chosen_is in ((first, "A"), (second, "B")):
            if verdict in ("A", "B"):
                decisive += 1
                longer_wins += (verdict == chosen_is) == chosen_longer
        detail = {
            "verdicts": [first, second],
            "replies": [replies[2 * i].text, replies[2 * i + 1].text],
            "rejected": text_of(pair.rejected),
        }
        if first == "A" and second == "B":
            figures.consistent += 1
            synth = {
                **pair.meta["synth"],
                "judge": {"model": judge.model, "verdicts": [first, second]},
            }
            kept.append(pair.model_copy(update={"meta": {**pair.meta, "synth": synth}}))
        elif first is None or second is None:
            drops.append(Drop(_source(pair), "judge_unparseable", detail))
        elif "TIE" in (first, second):
            drops.append(Drop(_source(pair), "rejected_judged_correct", detail))
        elif first == "B" and second == "A":
            figures.consistent += 1
            drops.append(Drop(_source(pair), "rejected_preferred", detail))
        else:
            drops.append(Drop(_source(pair), "judge_inconsistent", detail))
    figures.chosen_longer_kept = _longer_share(kept)
    figures.judge_prefers_longer = round(longer_wins / decisive, 4) if decisive else None
    figures.position_consistency = _rate(figures.consistent, figures.judged)
    return kept, drops, figures


def _rate(k: int, n: int) -> float | None:
    return round(k / n, 4) if n else None


def _likelihood(
    pairs: list[Record], judge: Generator, figures: PairFigures
) -> tuple[list[Record], list[Drop]]:
    """Keep the pairs whose averaged likelihood margin favours chosen."""
    scores = LikelihoodJudge(judge).compare(
        [(last_user(p.prompt), text_of(p.chosen), text_of(p.rejected)) for p in pairs]
    )
    kept: list[Record] = []
    drops: list[Drop] = []
    longer_wins = 0
    for pair, s in zip(pairs, scores, strict=True):
        figures.judged += 1
        figures.consistent += s.consistent
        figures.first_position_wins += s.first_position_picks
        chosen_longer = len(text_of(pair.chosen)) > len(text_of(pair.rejected))
        longer_wins += (s.a_shown_first > 0) == chosen_longer
        longer_wins += (s.a_shown_second > 0) == chosen_longer
        margins = [round(s.a_shown_first, 4), round(s.a_shown_second, 4)]
        if s.prefers == "a":
            synth = {
                **pair.meta["synth"],
                "judge": {"model": judge.model, "kind": "likelihood", "margins": margins},
            }
            kept.append(pair.model_copy(update={"meta": {**pair.meta, "synth": synth}}))
        else:
            detail = {"margins": margins, "rejected": text_of(pair.rejected)}
            drops.append(Drop(_source(pair), "rejected_preferred", detail))
    figures.judge_prefers_longer = round(longer_wins / (2 * len(pairs)), 4) if pairs else None
    return kept, drops


def _source(pair: Record) -> str:
    return pair.meta.get("synth", {}).get("source_id", pair.id)


def _longer_share(pairs: list[Record]) -> float | None:
    if not pairs:
        return None
    longer = sum(len(text_of(p.chosen)) > len(text_of(p.rejected)) for p in pairs)
    return round(longer / len(pairs), 4)
