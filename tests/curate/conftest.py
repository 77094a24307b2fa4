"""Fixtures for curation tests: small frames of real-looking records built in one line."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl
import pytest

from curate.records import Message, Record, Source, content_key, record_id, to_frame


def make_frame(pairs: Sequence[tuple[str, str]], file: str = "test.jsonl") -> pl.DataFrame:
    """SFT records from (prompt, answer) pairs, rows in order, ids as the readers make them."""
    records, seen = [], {}
    for row, (prompt, answer) in enumerate(pairs):
        p, c = [Message(role="user", content=prompt)], [Message(role="assistant", content=answer)]
        key = content_key("sft", p, c)
        seen[key] = seen.get(key, -1) + 1
        records.append(
            Record(
                id=record_id(key, seen[key]),
                kind="sft",
                prompt=p,
                completion=c,
                source=Source(file=file, row=row, line=row + 1),
            )
        )
    return to_frame(records)


@pytest.fixture()
def sft_frame() -> Callable[..., pl.DataFrame]:
    """A factory: ``sft_frame([(prompt, answer), ...])`` -> a frame of ``RECORD_SCHEMA``."""
    return make_frame
