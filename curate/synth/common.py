"""What every synthesis task shares: chunked generation with progress, new records, drops."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from curate.models.generation import Generation, Generator, SamplingParams
from curate.records import Message, Record, Source, content_key, record_id

Progress = Callable[[str, int, int], None]
"""Called with (stage, done, total) as generation advances."""


@dataclass
class Drop:
    """A synthesised item that was not kept, and why."""

    source_id: str
    """The input record it was made from."""
    reason: str
    """A reason code, counted in the report."""
    detail: dict[str, Any] = field(default_factory=dict)
    """The text and anything else that shows why (the judge's verdicts, the similarity)."""


def generate_in_chunks(
    generator: Generator,
    chats: list[list[Message]],
    params: SamplingParams,
    *,
    chunk: int,
    stage: str,
    progress: Progress | None = None,
) -> list[Generation]:
    """Generate ``chats`` a chunk at a time, so the cache and the progress bar advance."""
    out: list[Generation] = []
    if progress:
        progress(stage, 0, len(chats))
    for start in range(0, len(chats), chunk):
        out += generator.generate(chats[start : start + chunk], params)
        if progress:
            progress(stage, len(out), len(chats))
    return out


def last_user(prompt: list[Message]) -> str:
    """The text of the prompt's last user turn (what templates rewrite or wrap)."""
    return next((m.content or "" for m in reversed(prompt) if m.role == "user"), "")


def with_last_user(prompt: list[Message], text: str) -> list[Message]:
    """The prompt with its last user turn replaced by ``text`` (system and history kept)."""
    index = max(i for i, m in enumerate(prompt) if m.role == "user")
    return [*prompt[:index], Message(role="user", content=text), *prompt[index + 1 :]]


def new_record(
    base: Record,
    *,
    prompt: list[Message] | None = None,
    completion: str | None = None,
    chosen: list[Message] | None = None,
    rejected: str | None = None,
    synth: dict[str, Any],
) -> Record:
    """A synthesised record derived from ``base`` with ``meta.synth`` provenance.

    SFT when ``completion`` is given, preference when ``rejected`` is. The source (file, row) is
    the base record's, so every synthetic record points back to the row it came from.
    """
    prompt = prompt or base.prompt
    fields: dict[str, list[Message] | None]
    if rejected is not None:
        kind = "preference"
        fields = {
            "chosen": chosen or base.completion,
            "rejected": [Message(role="assistant", content=rejected)],
        }
        key = content_key(kind, prompt, chosen=fields["chosen"], rejected=fields["rejected"])
    else:
        kind = "sft"
        fields = {"completion": [Message(role="assistant", content=completion or "")]}
        key = content_key(kind, prompt, completion=fields["completion"])
    meta = {**{k: v for k, v in base.meta.items() if k != "synth"}, "synth": synth}
    return Record(
        id=record_id(key),
        kind=kind,
        prompt=prompt,
        source=Source(file=base.source.file, row=base.source.row, line=base.source.line),
        meta=meta,
        **fields,
    )


_PREFACE = re.compile(
    r"^\s*(?:sure[,!.]?\s*)?(?:here(?:'s| is) (?:the |a |my )?(?:rewritten|new|revised)[^:\n]*:|"
    r"(?:rewritten|new|revised) (?:request|prompt|answer)\s*:)\s*",
    re.I,
)


def clean(text: str) -> str:
    """A generation without a chatty preface ("Here is the rewritten request:") or quotes."""
    text = _PREFACE.sub("", text.strip()).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


def word_count(text: str) -> int:
    """Whitespace-separated words."""
    return len(text.split())
