"""Negative examples: plausible but worse answers of a named error type, and corrections.

Two kinds come out:

- preference pairs for DPO: (prompt, chosen = the good answer, rejected = a generated answer with
  one named error: factual error, format violation, ignored instruction, reasoning slip, unsafe
  compliance or verbosity), verified by ``curate.synth.verify`` before they are kept;
- "error then correction" SFT examples, built from verified pairs only (so the flaw is real): the
  flawed answer, an explicit correction that names the mistake, then the correct answer.

With ``SynthConfig.verifier`` the pairs come from rejection sampling instead (``verified_pairs``):
the model's own answers, checked by a program, so the rejected side is a real mistake of the
model being tuned and no judge is asked.
"""

from __future__ import annotations

from curate.models.generation import Generator
from curate.records import Message, Record, text_of
from curate.synth.common import Drop, Progress, clean, generate_in_chunks, last_user, new_record
from curate.synth.config import SynthConfig
from curate.synth.sampling import Verified, sample_drop
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


VERIFIED_CORRECTION = "The final answer is wrong."
"""The correction note of a verified pair's "error then correction" example: the verifier
showed the answer wrong, and says no more than that."""


def verified_pairs(
    verified: list[Verified], generator: Generator, config: SynthConfig
) -> tuple[list[Record], list[Drop]]:
    """Preference pairs from verified samples, no judge needed.

    Chosen: the shortest verified-correct sample (``Verified.chosen``), or where none passed
    the record's own answer, in the set's format, when it passes its verifier. Rejected: each
    verified-wrong sample, distinct texts in sample order, up to ``pairs_per_prompt``.

    Returns:
        The pairs (``meta.synth``: task, verifier, reference, sample, chosen_sample, reason,
        passed, pass_at_k, ...) and the drops of samples not used; each prompt's ``outcome``
        is set (``kept``, ``no_chosen``, ``no_wrong_sample``, ``no_usable_sample``).
    """
    pairs: list[Record] = []
    drops: list[Drop] = []
    for v in verified:
        best = v.chosen()
        for other in v.correct:
            if other is not best:
                drops.append(sample_drop(v, other, "correct_not_chosen"))
        if best is None and not v.reference_passes:
            drops += [sample_drop(v, s, "no_chosen") for s in v.wrong]
            v.outcome = "no_chosen"
            continue
        if not v.wrong:
            if best is not None:
                drops.append(sample_drop(v, best, "no_wrong_sample"))
            v.outcome = "no_wrong_sample" if best is not None else "no_usable_sample"
            continue
        if best is not None:
            v.fates[best.index] = "chosen"
        chosen = [Message(role="assistant", content=best.text)] if best else _good(v.record)
        for n, wrong in enumerate(v.wrong):
            if n >= config.pairs_per_prompt:
                drops.append(sample_drop(v, wrong, "beyond_pairs_per_prompt"))
                continue
            v.fates[wrong.index] = "rejected"
            synth = v.synth(
                "negatives",
                sample=wrong.index,
                chosen_sample=best.index if best else None,
                reason=wrong.verification.reason,
                detail=wrong.verification.detail,
                backend=generator.backend,
                model=generator.model,
            )
            pairs.append(new_record(v.record, chosen=chosen, rejected=wrong.text, synth=synth))
        v.outcome = "kept"
    return pairs, drops


def verified_corrections(pairs: list[Record]) -> list[Record]:
    """ "Error then correction" SFT examples from verified pairs: the real wrong sample, the
    ``CORRECTION_JOINER`` with ``VERIFIED_CORRECTION``, then the chosen answer."""
    out: list[Record] = []
    for pair in pairs:
        completion = text_of(pair.rejected) + CORRECTION_JOINER.format(
            correction=VERIFIED_CORRECTION, answer=text_of(pair.chosen)
        )
        synth = {**pair.meta["synth"], "task": "correction", "pair_id": pair.id}
        base = pair.model_copy(
            update={"kind": "sft", "completion": pair.chosen, "chosen": None, "rejected": None}
        )
        out.append(new_record(base, completion=completion, synth=synth))
    return out
