"""Teacher examples: a (larger) model answers prompts whose answer is missing, weak or flagged.

The original answer stays in provenance beside the candidate (``meta.synth.original``), so a
reviewer can compare them and nothing is overwritten silently.
"""

from __future__ import annotations

from curate.models.generation import Generator
from curate.records import Record, text_of
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
from curate.synth.templates import load_template


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
    chosen: list[tuple[Record, str]] = []
    for record in records:
        why = (
            "all"
            if config.teacher_select == "all"
            else weak_reason(record, config, flagged or set())
        )
        if why:
            chosen.append((record, why))
    chats = [
        with_last_user(r.prompt, template.render(prompt=last_user(r.prompt))) for r, _ in chosen
    ]
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
    selected: dict[str, int] = {}
    for _, why in chosen:
        selected[why] = selected.get(why, 0) + 1
    return kept, drops, selected
