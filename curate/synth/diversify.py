"""Prompt diversification: rewrite prompts into other phrasings and structures.

A set whose prompts all follow one template teaches the template. Each prompt is rewritten into
``variants`` styles (question, imperative, context first or last, terse, verbose, with typos),
taken in turn across the set so every style is used about equally; the answer is kept. The
rewrites then go through dedup against the original prompts (``curate.synth.screen``).
"""

from __future__ import annotations

from curate.models.generation import Generator
from curate.records import Message, Record
from curate.synth.common import (
    Drop,
    Progress,
    clean,
    generate_in_chunks,
    last_user,
    new_record,
    with_last_user,
)
from curate.synth.config import STYLES, SynthConfig
from curate.synth.templates import load_template


def plan_styles(n_records: int, config: SynthConfig) -> list[list[str]]:
    """The styles each record is rewritten into: ``variants`` per record, in rotation."""
    styles = list(config.styles)
    count = min(config.variants, len(styles))
    return [[styles[(i * count + k) % len(styles)] for k in range(count)] for i in range(n_records)]


def diversify_prompts(
    records: list[Record],
    generator: Generator,
    config: SynthConfig,
    *,
    progress: Progress | None = None,
) -> tuple[list[Record], list[Drop], dict[str, int]]:
    """Rewrite each record's last user turn into other styles.

    Returns:
        The rewritten records (same answer; ``meta.synth``: task, style, original prompt,
        source id, model, template), the drops with reasons, and rewrites per style.
    """
    template = load_template("diversify", config.templates_dir)
    jobs = [
        (record, style)
        for record, styles in zip(records, plan_styles(len(records), config), strict=True)
        for style in styles
    ]
    chats = [
        [
            Message(
                role="user",
                content=template.render(
                    prompt=last_user(r.prompt), style=style, style_hint=STYLES[style]
                ),
            )
        ]
        for r, style in jobs
    ]
    params = config.sampling()
    rewrites = generate_in_chunks(
        generator, chats, params, chunk=config.chunk, stage="diversify", progress=progress
    )
    kept: list[Record] = []
    drops: list[Drop] = []
    by_style: dict[str, int] = {}
    for (record, style), rewrite in zip(jobs, rewrites, strict=True):
        text = clean(rewrite.text)
        original = last_user(record.prompt)
        if not text:
            drops.append(Drop(record.id, "empty_generation", {"style": style}))
            continue
        if config.drop_truncated and rewrite.finish_reason == "length":
            drops.append(Drop(record.id, "truncated_generation", {"style": style, "text": text}))
            continue
        if text.strip().lower() == original.strip().lower():
            drops.append(Drop(record.id, "unchanged_prompt", {"style": style}))
            continue
        synth = {
            "task": "diversify",
            "style": style,
            "source_id": record.id,
            "original_prompt": original,
            "backend": generator.backend,
            "model": generator.model,
            "template": template.ref,
        }
        kept.append(
            new_record(
                record,
                prompt=with_last_user(record.prompt, text),
                completion=_answer(record),
                synth=synth,
            )
        )
        by_style[style] = by_style.get(style, 0) + 1
    return kept, drops, by_style


def _answer(record: Record) -> str:
    messages = record.completion if record.kind == "sft" else record.chosen
    return "\n\n".join(m.content or "" for m in messages or [])
