"""JSON arrays of records, read through a sliding window of text so that memory does not grow
with the file: each element is found by its brackets and strings, decoded under the row guards,
and forgotten. A syntax error is a file error (elements cannot be told apart after one)."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from curate.errors import DatasetFormatError
from curate.io import limits
from curate.io.row_guards import (
    DECODER,
    Reject,
    checked,
    deep_reject,
    json_error,
    parse,
    too_deep,
)
from curate.io.rows import SURROGATE, RawRow, excerpt, object_or_reject, too_large
from curate.io.streams import open_text

_OUTSIDE = re.compile(r'[\[\]{},"]')
_STRING_BODY = re.compile(r'[^"\\]*(?:\\[\s\S][^"\\]*)*')
_WS = re.compile(r"[ \t\r\n]*")


class _Window:
    """A sliding window of decoded text over a UTF-8 byte stream, with line numbers. Invalid
    UTF-8 bytes become surrogate escapes, so a bad record can be rejected and the next read."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f = f
        self.decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self.buf, self.eof = "", False
        self.line, self.line_pos = 1, 0  # the line number at buf[line_pos]

    def fill(self) -> bool:
        """Append the next chunk; False at the end of the stream."""
        if self.eof:
            return False
        data = self.f.read(limits.CHUNK)
        self.eof = not data
        text = self.decoder.decode(data, final=self.eof)
        self.buf += text
        return bool(text) or not self.eof

    def line_at(self, pos: int) -> int:
        """The line of ``buf[pos]``; positions asked for never go backwards."""
        self.line += self.buf.count("\n", self.line_pos, pos)
        self.line_pos = pos
        return self.line

    def drop(self, pos: int) -> None:
        """Forget ``buf[:pos]``; positions shift down by ``pos``."""
        self.line_at(pos)
        self.buf, self.line_pos = self.buf[pos:], 0

    def skip_ws(self, i: int) -> int:
        """The position of the next non-whitespace character (``len(buf)`` at the end)."""
        while True:
            i = _WS.match(self.buf, i).end()  # type: ignore[union-attr]
            if i < len(self.buf):
                return i
            self.drop(i)
            i = 0
            if not self.fill():
                return i

    def decode_value(self, i: int) -> tuple[Any, int] | None:
        """``(value, end)`` when the value at ``buf[i]`` decodes whole inside the window;
        None when it does not (it runs past the window, is too deep, or fails a guard)."""
        try:
            value, end = DECODER.raw_decode(self.buf, i)
        except (ValueError, RecursionError, Reject):
            return None
        if end >= len(self.buf) and not self.eof:  # a number may go on in the next chunk
            return None
        return value, end

    def scan_value(self, i: int) -> tuple[int, int, int]:
        """Find the end of the JSON value at ``buf[i]`` by its brackets and strings, reading on
        as needed: ``(start, end, deepest)``. A value larger than ``MAX_ROW_BYTES`` is read past
        and forgotten: then ``start`` is -1 and ``deepest`` its size.

        Raises:
            EOFError: the stream ends inside the value.
        """
        start, depth, deepest, in_string, forgotten = i, 0, 0, False, 0
        while True:
            buf, n = self.buf, len(self.buf)
            if in_string:
                k = _STRING_BODY.match(buf, i).end()  # type: ignore[union-attr]
                if k < n and buf[k] == '"':
                    in_string, i = False, k + 1
                    if depth == 0:
                        return self._found(start, i, deepest, forgotten)
                    continue
                i = k  # the end of the window, or a backslash at its end
            else:
                m = _OUTSIDE.search(buf, i)
                if m is not None:
                    j, c = m.start(), m.group()
                    if c == '"':
                        in_string, i = True, j + 1
                    elif c in "[{":
                        depth, i = depth + 1, j + 1
                        deepest = max(deepest, depth)
                    elif depth == 0:  # a scalar ends at , ] or }
                        return self._found(start, j, deepest, forgotten)
                    elif c in "]}":
                        depth, i = depth - 1, j + 1
                        if depth == 0:
                            return self._found(start, i, deepest, forgotten)
                    else:
                        i = j + 1
                    continue
                i = n
            # too large: keep reading, keep nothing
            if forgotten or i - start > limits.MAX_ROW_BYTES:
                forgotten += i - start
                self.drop(i)
                start = i = 0
            if not self.fill():
                raise EOFError

    def _found(self, start: int, end: int, deepest: int, forgotten: int) -> tuple[int, int, int]:
        return (-1, end, forgotten + end - start) if forgotten else (start, end, deepest)


def json_array_rows(path: Path) -> Iterator[RawRow]:
    """Every element of a JSON array file, in order, read through a sliding window.

    Raises:
        DatasetFormatError: the file is not a JSON array, or has a syntax error (elements cannot
            be told apart past one).
    """
    with open_text(path) as f:
        w = _Window(f)
        i = w.skip_ws(0)
        if i >= len(w.buf) or w.buf[i] != "[":
            found = "an empty file" if i >= len(w.buf) else f"{w.buf[i]!r} at the start"
            if found == "'{' at the start":
                found += " (one JSON object, neither an array of records nor JSON Lines)"
            raise DatasetFormatError(f"{path}: expected a JSON array of records, found {found}")
        i, row = w.skip_ws(i + 1), 0
        if i < len(w.buf) and w.buf[i] == "]":
            i = w.skip_ws(i + 1)
        else:
            while True:
                if i > limits.CHUNK:
                    w.drop(i)
                    i = 0
                line = w.line_at(i)
                decoded = w.decode_value(i)
                if decoded is not None:  # the common case, at C speed
                    start, end, deepest = i, decoded[1], -1
                else:  # across the window's end, or not decodable: find its end by scanning
                    try:
                        start, end, deepest = w.scan_value(i)
                    except EOFError:
                        raise DatasetFormatError(
                            f"{path}: invalid JSON at line {line}: the file ends inside record "
                            f"{row + 1} (after {row} readable records; a truncated JSON array)"
                        ) from None
                yield _element(path, w, row, line, (start, end, deepest), decoded)
                row += 1
                i = w.skip_ws(end)
                c = w.buf[i : i + 1]
                if c == ",":
                    i = w.skip_ws(i + 1)
                    continue
                if c == "]":
                    i = w.skip_ws(i + 1)
                    break
                found = "the end of the file" if not c else repr(c)
                raise DatasetFormatError(
                    f"{path}: expected ',' or ']' at line {w.line_at(i)}, found {found} "
                    f"(after {row} records)"
                )
        if i < len(w.buf):
            raise DatasetFormatError(
                f"{path}: unexpected content after the array at line {w.line_at(i)}"
            )


def _element(
    path: Path,
    w: _Window,
    row: int,
    line: int,
    span: tuple[int, int, int],
    decoded: tuple[Any, int] | None,
) -> RawRow:
    """One array element's raw row, from its ``(start, end, depth)`` in the window (depth -1:
    not scanned) and its value when already decoded. A syntax error is a file error (rows
    cannot be resynchronised after it)."""
    start, end, deep = span
    if start < 0 or end - start > limits.MAX_ROW_BYTES:
        return too_large(row, line, deep if start < 0 else end - start, "characters")
    raw = w.buf[start:end]
    if deep > limits.MAX_DEPTH or (deep < 0 and too_deep(raw)):
        return RawRow(row, line, None, "too_deep", deep_reject().detail, excerpt(raw))
    if SURROGATE.search(raw):  # raw text holds surrogates only where the bytes were not UTF-8
        at = raw.count("\n", 0, SURROGATE.search(raw).start())  # type: ignore[union-attr]
        detail = f"invalid UTF-8 at line {line + at}"
        return RawRow(row, line, None, "invalid_utf8", detail, excerpt(raw))
    try:
        value = checked(decoded[0], raw) if decoded else parse(raw, depth_checked=True)
    except json.JSONDecodeError as e:
        if e.lineno == 1:  # columns count from the element's start: make them the line's
            e.colno += start - w.buf.rfind("\n", 0, start) - 1
        raise DatasetFormatError(
            f"{path}: invalid JSON at line {line + e.lineno - 1}: {json_error(e)} "
            f"(after {row} readable records; a JSON array cannot be read past a syntax error)"
        ) from e
    except Reject as r:
        return RawRow(row, line, None, r.reason, r.detail, excerpt(raw))
    return object_or_reject(row, line, value, excerpt(raw))
