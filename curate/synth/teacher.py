"""Teacher examples: a (larger) model answers prompts whose answer is missing, weak or flagged.

The original answer stays in provenance beside the candidate (``meta.synth.original``), so a
reviewer can compare them and nothing is overwritten silently.

With ``SynthConfig.verifier`` the teacher rejection-samples (``verified_teacher_answers``): k
answers per prompt, each checked by the verifier against the record's reference; the shortest
verified-correct one becomes the example, and a prompt with none is dropped
(``no_verified_sample``).
"""

from __future__ import annotations

from curate.models.generation import Generator
from curate.records import Message, Record, text_of
from curate.synth.common import (
    Drop,
    Progress,
    generate_in_chunks,
    last_user,
    new_record,
    with_last_user,
    word_count,
)
from curate.synth.config import SynthConfig
from curate.synth.sampling import PromptRow, Verified, sample_drop, verified_samples
from curate.synth.templates import Template, load_template


def weak_reason(record: Record, config: SynthConfig, flagged: set[str]) -> str | None:
    """Why a record needs a teacher answer (``missing``, ``short``, ``flagged``), or None."""
    if record.id in flagged:
        return "flagged"
    answer = text_of(record.completion) if record.kind == "sft" else text_of(record.chosen)
    if not answer.strip():
        return "missing"
    if word_count(answer) < config.min_answer_words:
        return "short"
    return None


def teacher_answers(
    records: list[Record],
    generator: Generator,
    config: SynthConfig,
    *,
    flagged: set[str] | None = None,
    progress: Progress | None = None,
) -> tuple[list[Record], list[Drop], dict[str, int]]:
    """Generate teacher answers for the records that need one.

    Returns:
        The candidate SFT records (``meta.synth``: task, why, original answer, model, template,
        finish reason), the drops with reasons, and how many were selected for each reason.
    """
    template = load_template("teacher", config.templates_dir)
    chosen = _select(records, config, flagged)
    chats = [_chat(r, template) for r, _ in chosen]
    params = config.sampling()
    answers = generate_in_chunks(
        generator, chats, params, chunk=config.chunk, stage="teacher", progress=progress
    )
    kept: list[Record] = []
    drops: list[Drop] = []
    for (record, why), answer in zip(chosen, answers, strict=True):
        text = answer.text.strip()
        if not text:
            drops.append(Drop(record.id, "empty_generation"))
            continue
        if config.drop_truncated and answer.finish_reason == "length":
            drops.append(Drop(record.id, "truncated_generation", {"text": text}))
            continue
        synth = {
            "task": "teacher",
            "why": why,
            "source_id": record.id,
            "original": text_of(record.completion) if record.kind == "sft" else None,
            "backend": generator.backend,
            "model": generator.model,
            "template": template.ref,
            "finish_reason": answer.finish_reason,
        }
        kept.append(new_record(record, completion=text, synth=synth))
    return kept, drops, _count(chosen)


def verified_teacher_answers(
    records: list[Record],
    generator: Generator,
    config: SynthConfig,
    *,
    flagged: set[str] | None = None,
    progress: Progress | None = None,
) -> tuple[list[Record], list[Drop], dict[str, int], list[Verified], list[PromptRow]]:
    """Teacher answers by rejection sampling: the shortest verified-correct of k samples.

    Returns:
        The candidate SFT records (``meta.synth`` as ``teacher_answers`` plus verifier,
        reference, sample, passed, pass_at_k), the drops, the selection counts, the verified
        prompts (``outcome``: ``kept`` or ``no_verified_sample``) and the rows of prompts
        without a reference.
    """
    template = load_template("teacher", config.templates_dir)
    chosen = _select(records, config, flagged)
    why_of = {r.id: why for r, why in chosen}
    verified, drops, skipped = verified_samples(
        [r for r, _ in chosen],
        [_chat(r, template) for r, _ in chosen],
        generator,
        config,
        stage="teacher",
        progress=progress,
    )
    kept: list[Record] = []
    for v in verified:
        best = v.chosen()
        drops += [sample_drop(v, s, "verified_wrong") for s in v.wrong]
        drops += [sample_drop(v, s, "correct_not_chosen") for s in v.correct if s is not best]
        if best is None:
            v.outcome = "no_verified_sample"
            continue
        v.fates[best.index] = "teacher"
        v.outcome = "kept"
        synth = v.synth(
            "teacher",
            why=why_of[v.record.id],
            sample=best.index,
            original=text_of(v.record.completion) if v.record.kind == "sft" else None,
            backend=generator.backend,
            model=generator.model,
            template=template.ref,
        )
        kept.append(new_record(v.record, completion=best.text, synth=synth))
    return kept, drops, _count(chosen), verified, skipped


def _select(
    records: list[Record], config: SynthConfig, flagged: set[str] | None
) -> list[tuple[Record, str]]:
    chosen: list[tuple[Record, str]] = []
    for record in records:
        why = (
            "all"
            if config.teacher_select == "all"
            else weak_reason(record, config, flagged or set())
        )
        if why:
            chosen.append((record, why))
    return chosen


def _chat(record: Record, template: Template) -> list[Message]:
    return with_last_user(record.prompt, template.render(prompt=last_user(record.prompt)))


def _count(chosen: list[tuple[Record, str]]) -> dict[str, int]:
    selected: dict[str, int] = {}
    for _, why in chosen:
        selected[why] = selected.get(why, 0) + 1
    return selected
