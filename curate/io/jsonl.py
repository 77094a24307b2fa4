"""JSON Lines: one row per line, each decoded under the row guards, a bad line rejected in its
place (the next line is the next row)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from curate.io import limits
from curate.io.row_guards import Reject, json_error, parse
from curate.io.rows import RawRow, excerpt, object_or_reject, too_large
from curate.io.streams import open_text, skip_long_line


def jsonl_rows(path: Path) -> Iterator[RawRow]:
    """Every row of a JSON Lines file, in order (blank lines are not rows)."""
    with open_text(path) as f:
        row, line = 0, 0
        while True:
            data = f.readline(limits.MAX_ROW_BYTES + 1)
            if not data:
                return
            line += 1
            if len(data) > limits.MAX_ROW_BYTES and not data.endswith(b"\n"):
                yield too_large(row, line, skip_long_line(f, data))
                row += 1
                continue
            if not data.strip():
                continue
            try:
                text = data.decode("utf-8").rstrip("\r\n")  # a cut line: "Unterminated string"
            except UnicodeDecodeError as e:
                detail = f"invalid UTF-8 at byte {e.start} of the line"
                yield RawRow(row, line, None, "invalid_utf8", detail, excerpt(data))
                row += 1
                continue
            try:
                value = parse(text)
            except json.JSONDecodeError as e:
                yield RawRow(row, line, None, "invalid_json", json_error(e), excerpt(text))
            except Reject as r:
                yield RawRow(row, line, None, r.reason, r.detail, excerpt(text))
            else:
                yield object_or_reject(row, line, value, excerpt(text))
            row += 1
