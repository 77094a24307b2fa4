"""Negative examples: plausible but worse answers of a named error type, and corrections.

Two kinds come out:

- preference pairs for DPO: (prompt, chosen = the good answer, rejected = a generated answer with
  one named error: factual error, format violation, ignored instruction, reasoning slip, unsafe
  compliance or verbosity), verified by ``curate.synth.verify`` before they are kept;
- "error then correction" SFT examples, built from verified pairs only (so the flaw is real): the
  flawed answer, an explicit correction that names the mistake, then the correct answer.
"""

from __future__ import annotations

from curate.models.generation import Generator
from curate.records import Message, Record, text_of
from curate.synth.common import Drop, Progress, clean, generate_in_chunks, last_user, new_record
from curate.synth.config import SynthConfig
from curate.synth.templates import load_template

CORRECTION_JOINER = "\n\nWait, that is not right. {correction}\n\nCorrected answer: {answer}"
"""How an "error then correction" completion continues after the flawed answer."""


def plan_errors(n_records: int, config: SynthConfig) -> list[list[str]]:
    """The error types each record gets: ``pairs_per_prompt`` each, in rotation over the set."""
    types = list(config.error_types)
    count = min(config.pairs_per_prompt, len(types))
    return [[types[(i * count + k) % len(types)] for k in range(count)] for i in range(n_records)]


def negative_pairs(
    records: list[Record],
    generator: Generator,
    config: SynthConfig,
    *,
    progress: Progress | None = None,
) -> tuple[list[Record], list[Drop], dict[str, int]]:
    """Generate one rejected answer per (record, error type) for records with a good answer.

    Returns:
        Unverified preference records (``meta.synth``: task, error_type, source id, model,
        template), drops with reasons, and pairs generated per error type.
    """
    usable = [r for r in records if text_of(_good(r)).strip()]
    drops = [Drop(r.id, "no_answer_to_contrast") for r in records if not text_of(_good(r)).strip()]
    jobs = [
        (record, error)
        for record, errors in zip(usable, plan_errors(len(usable), config), strict=True)
        for error in errors
    ]
    templates = {
        e: load_template(f"negative_{e}", config.templates_dir) for e in config.error_types
    }
    chats = [
        [
            Message(
                role="user",
                content=templates[error].render(
                    prompt=last_user(r.prompt), answer=text_of(_good(r))
                ),
            )
        ]
        for r, error in jobs
    ]
    params = config.sampling()
    answers = generate_in_chunks(
        generator, chats, params, chunk=config.chunk, stage="negatives", progress=progress
    )
    pairs: list[Record] = []
    by_type: dict[str, int] = {}
    for (record, error), answer in zip(jobs, answers, strict=True):
        text = clean(answer.text)
        if not text:
            drops.append(Drop(record.id, "empty_generation", {"error_type": error}))
            continue
        # A verbose answer may run long by design; any other cut-off answer is a broken one.
        if config.drop_truncated and answer.finish_reason == "length" and error != "verbosity":
            drops.append(
                Drop(record.id, "truncated_generation", {"error_type": error, "text": text})
            )
            continue
        synth = {
            "task": "negatives",
            "error_type": error,
            "source_id": record.id,
            "backend": generator.backend,
            "model": generator.model,
            "template": templates[error].ref,
        }
        pairs.append(new_record(record, chosen=_good(record), rejected=text, synth=synth))
        by_type[error] = by_type.get(error, 0) + 1
    return pairs, drops, by_type


def corrections(
    pairs: list[Record],
    generator: Generator,
    config: SynthConfig,
    *,
    progress: Progress | None = None,
) -> tuple[list[Record], list[Drop]]:
    """ "Error then correction" SFT examples from verified pairs of ``config.correction_types``."""
    template = load_template("correction", config.templates_dir)
    usable = [p for p in pairs if p.meta["synth"]["error_type"] in config.correction_types]
    chats = [
        [
            Message(
                role="user",
                content=template.render(
                    prompt=last_user(p.prompt),
                    flawed=text_of(p.rejected),
                    answer=text_of(p.chosen),
                    error=p.meta["synth"]["error_type"].replace("_", " "),
                ),
            )
        ]
        for p in usable
    ]
    params = config.sampling()
    notes = generate_in_chunks(
        generator, chats, params, chunk=config.chunk, stage="corrections", progress=progress
    )
    out: list[Record] = []
    drops: list[Drop] = []
    for pair, note in zip(usable, notes, strict=True):
        correction = clean(note.text)
        source = pair.meta["synth"]["source_id"]
        if not correction or (config.drop_truncated and note.finish_reason == "length"):
            reason = "empty_generation" if not correction else "truncated_generation"
            drops.append(Drop(source, reason, {"text": correction}))
            continue
        completion = text_of(pair.rejected) + CORRECTION_JOINER.format(
            correction=correction, answer=text_of(pair.chosen)
        )
        synth = {
            **pair.meta["synth"],
            "task": "correction",
            "pair_id": pair.id,
            "template": template.ref,
        }
        base = pair.model_copy(
            update={"kind": "sft", "completion": pair.chosen, "chosen": None, "rejected": None}
        )
        out.append(new_record(base, completion=completion, synth=synth))
    return out, drops


def _good(record: Record) -> list[Message]:
    return (record.completion if record.kind == "sft" else record.chosen) or []
