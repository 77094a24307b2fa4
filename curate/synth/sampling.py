"""Rejection sampling: k answers per prompt from the model itself, each checked by a verifier.

A program, not a judge, decides. For each record the verifier and its reference come from
``meta["verify"] = {"verifier": ..., "reference": ...}`` when the record has one, else from
``SynthConfig.verifier`` and the record's own answer (for ``numeric``, its final number). The k
samples are k requests with seeds ``seed, seed + 1, ...``: each is its own cache entry, every
backend can serve them, and sample 0 is the very request a single generation makes.

Every sample ends with one fate, written in the report's per-prompt rows: kept (``chosen``,
``rejected``, ``teacher``) or a drop reason: ``empty_generation``, ``truncated_generation``,
``duplicate_sample`` (the same text as an earlier sample of the prompt), ``no_answer`` (the
verifier finds no answer in it, e.g. no number), ``verified_wrong`` (teacher), ``correct_not_chosen``
(another correct sample was chosen), ``beyond_pairs_per_prompt``, ``no_wrong_sample`` (negatives:
a correct sample with nothing to contrast it with), ``no_chosen`` (negatives: no correct sample
and the record's own answer fails its verifier), or a screening reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from curate.errors import InputError
from curate.models.generation import Generation, Generator, SamplingParams
from curate.records import Message, Record, text_of
from curate.synth.common import Drop, Progress
from curate.synth.config import SynthConfig
from curate.text.answers import final_number
from curate.verify import Verification, get_verifier


def sample_in_chunks(
    generator: Generator,
    chats: list[list[Message]],
    params: SamplingParams,
    k: int,
    *,
    chunk: int,
    stage: str,
    progress: Progress | None = None,
) -> list[list[Generation]]:
    """``k`` answers per chat, sample ``i`` with seed ``params.seed + i``, a chunk at a time."""
    out: list[list[Generation]] = [[] for _ in chats]
    total, done = len(chats) * k, 0
    if progress:
        progress(stage, 0, total)
    for start in range(0, len(chats), chunk):
        part = chats[start : start + chunk]
        for i in range(k):
            answers = generator.generate(part, params.model_copy(update={"seed": params.seed + i}))
            for j, answer in enumerate(answers):
                out[start + j].append(answer)
            done += len(part)
            if progress:
                progress(stage, done, total)
    return out


@dataclass
class Sample:
    """One sampled answer that reached the verifier."""

    index: int
    """Which of the k samples (its seed is ``seed + index``)."""
    text: str
    """The answer, stripped."""
    verification: Verification
    """What the verifier said."""


@dataclass
class Verified:
    """One prompt's samples, verified."""

    record: Record
    """The input record."""
    verifier: str
    """The verifier's name."""
    reference: Any
    """What the samples were checked against."""
    reference_passes: bool
    """The record's own answer passes its verifier (so it can stand in as the chosen side)."""
    fates: list[str]
    """Per sample index: ``verified`` until a task decides, else the drop reason."""
    correct: list[Sample] = field(default_factory=list)
    """Samples the verifier passed, in sample order."""
    wrong: list[Sample] = field(default_factory=list)
    """Samples the verifier failed (an answer was found and it is wrong), in sample order."""
    outcome: str = "sampled"
    """Set by the task: ``kept`` or why the prompt gave nothing (see ``PromptRow.outcome``)."""

    @property
    def passed(self) -> int:
        """Samples that passed (duplicates and truncated samples do not count)."""
        return len(self.correct)

    def chosen(self) -> Sample | None:
        """The shortest verified-correct sample (ties: the earliest); None when none passed.

        Shortest, because a preference set whose chosen side is the longer one teaches length.
        """
        return min(self.correct, key=lambda s: (len(s.text), s.index), default=None)

    def synth(self, task: str, **extra: Any) -> dict[str, Any]:
        """The ``meta.synth`` provenance every record made from these samples carries."""
        return {
            "task": task,
            "source_id": self.record.id,
            "verifier": self.verifier,
            "reference": self.reference,
            "samples": len(self.fates),
            "passed": self.passed,
            "pass_at_k": self.passed > 0,
            **extra,
        }


class PromptRow(BaseModel):
    """One prompt's rejection sampling: how many samples passed, and each sample's fate."""

    source_id: str
    """The input record."""
    passed: int
    """Samples the verifier passed, of k."""
    pass_at_k: bool
    """At least one of the k samples passed."""
    outcome: str
    """``kept``, or why the prompt gave nothing: ``no_reference``, ``no_verified_sample``
    (teacher), ``no_wrong_sample``, ``no_usable_sample`` (every sample dropped before
    verification could pass or fail it), ``no_chosen`` (negatives), ``screened``."""
    fates: list[str] = Field(default_factory=list)
    """Per sample index: ``chosen``, ``rejected``, ``teacher`` or the reason it was dropped."""


class SamplingFigures(BaseModel):
    """Rejection sampling's figures: pass@k, what was kept, and length bias of the pairs."""

    verifier: str
    """The configured verifier (a record's ``meta.verify`` may name another)."""
    samples: int
    """k, answers sampled per prompt."""
    prompts: int = 0
    """Prompts sampled (a reference was found)."""
    pass_at_k: float | None = None
    """Share of sampled prompts with at least one verified-correct sample."""
    pass_at_1: float | None = None
    """Mean share of a prompt's k samples that passed (the unbiased pass@1)."""
    outcomes: dict[str, int] = Field(default_factory=dict)
    """Prompts counted by outcome (see ``PromptRow.outcome``)."""
    pairs_per_prompt: float | None = None
    """Negatives: kept pairs per sampled prompt."""
    chosen_from_reference: int = 0
    """Negatives: kept pairs whose chosen side is the record's own answer (no sample passed)."""
    mean_chosen_chars: float | None = None
    """Negatives: mean length of the kept pairs' chosen answers, in characters."""
    mean_rejected_chars: float | None = None
    """Negatives: mean length of the kept pairs' rejected answers, in characters."""
    chosen_longer: float | None = None
    """Negatives: share of kept pairs whose chosen answer is longer (near 1.0: length bias)."""
    per_prompt: list[PromptRow] = Field(default_factory=list)
    """One row per prompt considered."""


def reference_of(record: Record, default: str) -> tuple[str, Any]:
    """The verifier's name and the reference for ``record``: its ``meta.verify`` wins, else
    ``default`` with the record's own answer (for ``numeric``, the answer's final number)."""
    spec = record.meta.get("verify")
    if isinstance(spec, dict) and "reference" in spec:
        return str(spec.get("verifier") or default), spec["reference"]
    answer = answer_text(record)
    if default == "numeric":
        return default, final_number(answer)
    return default, answer or None


def answer_text(record: Record) -> str:
    """The record's own answer (SFT completion or preference chosen side)."""
    return text_of(record.completion if record.kind == "sft" else record.chosen).strip()


def verified_samples(
    records: list[Record],
    chats: list[list[Message]],
    generator: Generator,
    config: SynthConfig,
    *,
    stage: str,
    progress: Progress | None = None,
) -> tuple[list[Verified], list[Drop], list[PromptRow]]:
    """Sample ``config.samples`` answers for each record's chat and verify each one.

    Returns:
        The verified prompts (fates still ``verified`` for correct and wrong samples, for the
        task to decide), the drops decided here, and rows for prompts without a usable
        reference (``no_reference``).
    """
    jobs: list[tuple[Record, list[Message], str, Any, bool]] = []
    drops: list[Drop] = []
    rows: list[PromptRow] = []
    for record, chat in zip(records, chats, strict=True):
        name, reference = reference_of(record, config.verifier or "numeric")
        try:
            if reference is None:
                raise InputError("the record has no reference answer")
            own = get_verifier(name).verify(answer_text(record), reference).passed
        except InputError as e:
            drops.append(Drop(record.id, "no_reference", {"verifier": name, "error": str(e)}))
            rows.append(
                PromptRow(source_id=record.id, passed=0, pass_at_k=False, outcome="no_reference")
            )
            continue
        jobs.append((record, chat, name, reference, own))
    answers = sample_in_chunks(
        generator,
        [chat for _, chat, *_ in jobs],
        config.sampling(),
        config.samples,
        chunk=config.chunk,
        stage=stage,
        progress=progress,
    )
    out: list[Verified] = []
    for (record, _, name, reference, own), samples in zip(jobs, answers, strict=True):
        verifier = get_verifier(name)
        done = Verified(record, name, reference, own, fates=["verified"] * len(samples))
        seen: dict[str, int] = {}
        for i, answer in enumerate(samples):
            text = answer.text.strip()
            reason, detail = None, {"sample": i, "text": text}
            if not text:
                reason = "empty_generation"
            elif config.drop_truncated and answer.finish_reason == "length":
                reason = "truncated_generation"
            elif text in seen:
                reason, detail = "duplicate_sample", {"sample": i, "same_as": seen[text]}
            else:
                seen[text] = i
                verification = verifier.verify(text, reference)
                if verification.passed:
                    done.correct.append(Sample(i, text, verification))
                elif verification.reason == "no_answer":
                    reason, detail = "no_answer", {**detail, "detail": verification.detail}
                else:
                    done.wrong.append(Sample(i, text, verification))
            if reason:
                done.fates[i] = reason
                drops.append(Drop(record.id, reason, detail))
        out.append(done)
    return out, drops, rows


def sample_drop(verified: Verified, sample: Sample, reason: str) -> Drop:
    """Mark ``sample`` dropped for ``reason`` and return its drop."""
    verified.fates[sample.index] = reason
    detail = {
        "sample": sample.index,
        "text": sample.text,
        "verification": sample.verification.reason,
    }
    return Drop(verified.record.id, reason, detail)


KEPT = ("chosen", "rejected", "teacher")
"""The fates of samples that went into a kept record."""


def screened_fates(verified: list[Verified], made: list[Record], screened: list[Drop]) -> None:
    """Give each screened-out record's sample the screening reason as its fate; a prompt left
    with no kept record has the outcome ``screened``."""
    by_id = {r.id: r for r in made}
    by_source = {v.record.id: v for v in verified}
    touched: dict[str, Verified] = {}
    for drop in screened:
        synth = by_id[drop.detail["id"]].meta["synth"]
        v = touched[synth["source_id"]] = by_source[synth["source_id"]]
        v.fates[synth["sample"]] = drop.reason
    for v in touched.values():
        if not any(f in ("rejected", "teacher") for f in v.fates):
            v.outcome = "screened"
            v.fates = ["no_pair_kept" if f == "chosen" else f for f in v.fates]


def summarize(
    config: SynthConfig,
    verified: list[Verified],
    skipped: list[PromptRow],
    *,
    pairs: list[Record] | None = None,
) -> SamplingFigures:
    """The figures: pass@k, pass@1, outcomes, per-prompt rows, and (negatives) the kept
    ``pairs``' figures: pairs per prompt, lengths and the share where chosen is longer."""
    k, n = config.samples, len(verified)
    rows = [
        PromptRow(
            source_id=v.record.id,
            passed=v.passed,
            pass_at_k=v.passed > 0,
            outcome=v.outcome,
            fates=list(v.fates),
        )
        for v in verified
    ] + skipped
    outcomes: dict[str, int] = {}
    for row in rows:
        outcomes[row.outcome] = outcomes.get(row.outcome, 0) + 1
    out = SamplingFigures(
        verifier=config.verifier or "",
        samples=k,
        prompts=n,
        pass_at_k=round(sum(v.passed > 0 for v in verified) / n, 4) if n else None,
        pass_at_1=round(sum(v.passed / k for v in verified) / n, 4) if n else None,
        outcomes=dict(sorted(outcomes.items())),
        per_prompt=rows,
    )
    if pairs is None:
        return out
    out.pairs_per_prompt = round(len(pairs) / n, 4) if n else None
    if pairs:
        chosen = [len(text_of(p.chosen)) for p in pairs]
        rejected = [len(text_of(p.rejected)) for p in pairs]
        out.chosen_from_reference = sum(p.meta["synth"]["chosen_sample"] is None for p in pairs)
        out.mean_chosen_chars = round(sum(chosen) / len(pairs), 1)
        out.mean_rejected_chars = round(sum(rejected) / len(pairs), 1)
        longer = sum(c > r for c, r in zip(chosen, rejected, strict=True))
        out.chosen_longer = round(longer / len(pairs), 4)
    return out
