"""File types: iterate the raw rows of a JSONL, JSON array, Parquet, CSV or TSV file, gzip or not.

A raw row is an object (a dict) or the reason it could not become one. Every row is yielded, bad
ones included, with its 0-based row number and the physical line where it starts, so callers can
account for every row: ``ingested + rejected == rows``. A file that cannot be read at all (binary,
a truncated gzip stream, a JSON array with a syntax error) raises ``DatasetFormatError``.

The layers, each bounded so that peak memory does not grow with the file::

    bytes -> guarded gzip decompression -> text decoding (BOM, UTF-16/32) -> rows -> row guards

- **Decompression guard**: a gzip stream stops with ``DecompressionLimit`` past
  ``MAX_DECOMPRESSED_BYTES`` out, or past ``MAX_DECOMPRESSION_RATIO`` out:in once more than
  ``RATIO_CHECK_AFTER_BYTES`` are out. The environment variables
  ``TUNESMITH_MAX_DECOMPRESSED_BYTES``, ``TUNESMITH_MAX_DECOMPRESSION_RATIO`` and
  ``TUNESMITH_DECOMPRESSION_RATIO_AFTER_BYTES`` override the three (read when a file is opened).
- **Text decoding**: a UTF-8 BOM is skipped; a UTF-16/32 BOM makes the file decode as such.
- **Row guards**, each a reject reason: ``too_deep`` (nesting beyond ``MAX_DEPTH``, found by a
  bracket scan before ``json`` can recurse), ``number_too_long`` (a number literal with more
  digits than ``MAX_NUMBER_DIGITS``), ``non_finite_number`` (NaN, Infinity, 1e999),
  ``invalid_unicode`` (lone surrogates), ``invalid_utf8``, ``row_too_large``.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import math
import os
import re
import shutil
import sys
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from curate.errors import DatasetFormatError, DecompressionLimit, InputError

MAX_ROW_BYTES = 8 * 1024 * 1024
"""A row (JSONL line, JSON element, CSV line) larger than this is rejected unread
(``row_too_large``)."""

RAW_EXCERPT = 300
"""How much of a rejected row's raw text is kept with it."""

MAX_DEPTH = 64
"""Rows nested deeper than this (objects and arrays) are rejected (``too_deep``)."""

MAX_NUMBER_DIGITS = sys.get_int_max_str_digits() or 4300
"""A number literal longer than this is rejected (``number_too_long``); Python's own limit."""

MAX_DECOMPRESSED_BYTES = 4 << 30
"""A gzip stream that expands past this many bytes stops with ``DecompressionLimit``."""

MAX_DECOMPRESSION_RATIO = 100.0
"""A gzip stream that expands more than this (out:in) stops with ``DecompressionLimit``..."""

RATIO_CHECK_AFTER_BYTES = 16 << 20
"""...once more than this many bytes are out (small files compress well and are harmless)."""

CHUNK = 1 << 20
"""Bytes read at a time."""

FILE_TYPES = ("jsonl", "json", "parquet", "csv", "tsv")

_BOMS = (  # UTF-32 LE before UTF-16 LE: its BOM starts with UTF-16 LE's
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_OTHER_COMPRESSION = {
    b"PK\x03\x04": "a zip archive",
    b"BZh": "bzip2-compressed",
    b"\xfd7zXZ": "xz-compressed",
    b"\x28\xb5\x2f\xfd": "zstd-compressed",
}
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_DEPTH_TOKENS = re.compile(r'"[^"\\]*(?:\\[\s\S][^"\\]*)*"|[\[\]{}]')
_OUTSIDE = re.compile(r'[\[\]{},"]')
_STRING_BODY = re.compile(r'[^"\\]*(?:\\[\s\S][^"\\]*)*')
_WS = re.compile(r"[ \t\r\n]*")


@dataclass(frozen=True)
class RawRow:
    """One row of a file: an object, or why it is not one."""

    row: int
    line: int | None
    value: dict[str, Any] | None
    reason: str | None = None
    detail: str | None = None
    raw: str | None = None


class _Reject(Exception):
    """A row guard failed: the row is rejected with ``reason``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


# -- bytes: guarded decompression ----------------------------------------------------------------


def _env_limit(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return float(value)
    except ValueError as e:
        raise InputError(f"{name}={value!r} is not a number") from e


class _Counted:
    """A file object that counts the bytes read from it."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f, self.n = f, 0

    def read(self, size: int = -1) -> bytes:
        data = self.f.read(size)
        self.n += len(data)
        return data


class _GuardedGzip(io.RawIOBase):
    """A gzip stream that counts bytes in and out and stops past the limits; corrupt or
    truncated data is a ``DatasetFormatError`` naming the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._in = _Counted(open(path, "rb"))  # noqa: SIM115 (closed in close())
        self._gz = gzip.GzipFile(fileobj=self._in, mode="rb")  # type: ignore[call-overload]
        self.out = 0
        self.max_bytes = _env_limit("TUNESMITH_MAX_DECOMPRESSED_BYTES", MAX_DECOMPRESSED_BYTES)
        self.max_ratio = _env_limit("TUNESMITH_MAX_DECOMPRESSION_RATIO", MAX_DECOMPRESSION_RATIO)
        self.ratio_after = _env_limit(
            "TUNESMITH_DECOMPRESSION_RATIO_AFTER_BYTES", RATIO_CHECK_AFTER_BYTES
        )

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        try:
            data = self._gz.read1(len(b))
        except EOFError as e:
            raise DatasetFormatError(
                f"{self.path}: truncated gzip stream (it ends after {self.out:,} decompressed "
                "bytes, before the end-of-stream marker)"
            ) from e
        except (gzip.BadGzipFile, zlib.error) as e:
            where = (
                "not a gzip stream after the magic bytes"
                if self.out == 0
                else f"corrupt gzip stream after {self.out:,} decompressed bytes"
            )
            raise DatasetFormatError(f"{self.path}: {where} ({e})") from e
        n = len(data)
        b[:n] = data
        self.out += n
        if self.out > self.max_bytes:
            raise DecompressionLimit(
                f"{self.path}: the gzip stream expands past {int(self.max_bytes):,} bytes, the "
                "limit (TUNESMITH_MAX_DECOMPRESSED_BYTES raises it)"
            )
        if self.out > self.ratio_after and self.out > self.max_ratio * max(self._in.n, 1):
            raise DecompressionLimit(
                f"{self.path}: the gzip stream expands more than {self.max_ratio:g}:1 "
                f"({self.out:,} bytes from {self._in.n:,}), a likely decompression bomb "
                "(TUNESMITH_MAX_DECOMPRESSION_RATIO raises the limit)"
            )
        return n

    def close(self) -> None:
        if not self.closed:
            self._gz.close()
            self._in.f.close()
        super().close()


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def open_binary(path: Path) -> io.BufferedReader:
    """Open a file for reading bytes, decompressing gzip (detected by its magic bytes) under the
    decompression guard."""
    if _is_gzip(path):
        return io.BufferedReader(_GuardedGzip(path), CHUNK)
    return open(path, "rb")


# -- text: BOMs and UTF-16/32 --------------------------------------------------------------------


class _Transcoder(io.RawIOBase):
    """UTF-16/32 bytes re-encoded as UTF-8, so the row readers see one encoding. Lone
    surrogates pass through (as invalid UTF-8), to be rejected row by row."""

    def __init__(self, path: Path, f: IO[bytes], encoding: str) -> None:
        self.path, self.f, self.encoding = path, f, encoding
        self._decoder = codecs.getincrementaldecoder(encoding)("surrogatepass")
        self._out, self._at, self._done = b"", 0, False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while self._at >= len(self._out) and not self._done:
            data = self.f.read(CHUNK)
            self._done = not data
            try:
                text = self._decoder.decode(data, final=self._done)
            except UnicodeDecodeError as e:
                raise DatasetFormatError(
                    f"{self.path}: the {self.encoding} text ends in the middle of a character"
                ) from e
            self._out, self._at = text.encode("utf-8", "surrogatepass"), 0
        n = min(len(b), len(self._out) - self._at)
        b[:n] = self._out[self._at : self._at + n]
        self._at += n
        return n

    def close(self) -> None:
        if not self.closed:
            self.f.close()
        super().close()


def open_text(path: Path) -> io.BufferedReader:
    """Open a text dataset as UTF-8 bytes: gzip undone, a UTF-8 BOM skipped, UTF-16/32 (by their
    BOM) re-encoded; binary content refused with ``DatasetFormatError``."""
    f = open_binary(path)
    try:
        head = f.peek(4)[:4]
        for bom, encoding in _BOMS:
            if head.startswith(bom):
                f.read(len(bom))
                if encoding != "utf-8":
                    f = io.BufferedReader(_Transcoder(path, f, encoding), CHUNK)
                break
        check_text(path, f.peek(8192)[:8192])
    except BaseException:
        f.close()
        raise
    return f


def check_text(path: Path, head: bytes) -> None:
    """Fail clearly when a file meant to be text is binary."""
    for magic, what in _OTHER_COMPRESSION.items():
        if head.startswith(magic):
            raise DatasetFormatError(
                f"{path}: {what} file; tunesmith reads gzip-compressed or plain files"
            )
    if b"\x00" in head:
        hint = ""
        if head[1:64:2].count(0) > 16 or head[0:64:2].count(0) > 16:
            hint = " (it looks like UTF-16 text without a byte-order mark: save it as UTF-8)"
        raise DatasetFormatError(
            f"{path}: binary content (NUL bytes) where a text dataset was expected{hint}; "
            f"tunesmith reads {', '.join(FILE_TYPES)} files"
        )


# -- detection -----------------------------------------------------------------------------------


def detect_file_type(path: Path) -> str:
    """The file type from the name (``.gz`` aside), else from the first bytes."""
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for suffix, kind in (
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "json"),
        (".parquet", "parquet"),
        (".csv", "csv"),
        (".tsv", "tsv"),
    ):
        if name.endswith(suffix):
            return (
                "json"
                if kind == "json" and _first_char(path) == "{" and _looks_jsonl(path)
                else kind
            )
    with open_binary(path) as f:
        head = f.read(4)
    if head == b"PAR1":
        return "parquet"
    first = _first_char(path)
    if first == "[":
        return "json"
    if first == "{":
        return "jsonl"
    raise DatasetFormatError(
        f"{path}: cannot tell the file type; expected one of {', '.join(FILE_TYPES)} "
        "(optionally gzip-compressed), by extension or content"
    )


def _first_char(path: Path) -> str:
    with open_text(path) as f:
        head = f.read(4096)
    return head.decode("utf-8", errors="ignore").lstrip(" \t\r\n")[:1]


def _looks_jsonl(path: Path) -> bool:
    """A ``.json`` file whose first line is a whole JSON object is really JSON Lines."""
    with open_text(path) as f:
        first = f.readline(MAX_ROW_BYTES)
    try:
        return isinstance(_parse(first.decode("utf-8")), dict)
    except (ValueError, _Reject):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return False


# -- row guards ----------------------------------------------------------------------------------


def _number(kind: type[int] | type[float]) -> Any:
    def parse(literal: str) -> int | float:
        if len(literal) > MAX_NUMBER_DIGITS:
            raise _Reject(
                "number_too_long",
                f"a number of {len(literal):,} characters; the limit is {MAX_NUMBER_DIGITS:,}",
            )
        value = kind(literal)
        if not math.isfinite(value):
            raise _Reject("non_finite_number", f"{literal} overflows to {value}")
        return value

    return parse


def _constant(name: str) -> Any:
    raise _Reject("non_finite_number", f"{name} is not a finite JSON number")


_DECODER = json.JSONDecoder(
    parse_int=_number(int), parse_float=_number(float), parse_constant=_constant
)


def _too_deep(text: str) -> bool:
    """Whether JSON text nests deeper than ``MAX_DEPTH``, by a scan of brackets outside strings
    (cheap when the text holds few brackets at all)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    depth = 0
    for m in _DEPTH_TOKENS.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif c in "]}":
            depth -= 1
    return False


def _deep_reject() -> _Reject:
    return _Reject("too_deep", f"nesting deeper than {MAX_DEPTH} levels")


def _parse(text: str, depth_checked: bool = False) -> Any:
    """One row's JSON text decoded under the row guards.

    Raises:
        _Reject: a guard failed.
        json.JSONDecodeError: the text is not JSON.
    """
    if not depth_checked and _too_deep(text):
        raise _deep_reject()
    try:
        value = _DECODER.decode(text)
    except RecursionError as e:
        raise _deep_reject() from e
    return _checked(value, text)


def _checked(value: Any, text: str) -> Any:
    """A decoded row once its text has no lone surrogate escape (``\\ud800``)."""
    if _ESCAPED_SURROGATE.search(text):  # most rows have no \uD8xx escape: skip the walk
        found = guard_value(value)
        if found:
            raise _Reject(*found)
    return value


def guard_value(value: Any) -> tuple[str, str] | None:
    """The first row guard a decoded row fails, as ``(reason, detail)``, or None: nesting beyond
    ``MAX_DEPTH``, a NaN or infinite float, a string or key with a lone surrogate."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        v, where, depth = stack.pop()
        if isinstance(v, str):
            if _SURROGATE.search(v):
                return "invalid_unicode", f"a lone surrogate in {where or 'the row'}"
        elif isinstance(v, float):
            if not math.isfinite(v):
                return "non_finite_number", f"{v} in {where or 'the row'}"
        elif isinstance(v, dict | list | tuple):
            if depth >= MAX_DEPTH:
                return "too_deep", f"nesting deeper than {MAX_DEPTH} levels"
            items = v.items() if isinstance(v, dict) else enumerate(v)
            for k, x in items:
                if isinstance(k, str) and _SURROGATE.search(k):
                    return "invalid_unicode", f"a lone surrogate in a key of {where or 'the row'}"
                at = f"{where}[{k}]" if not isinstance(k, str) else f"{where}.{k}" if where else k
                stack.append((x, at, depth + 1))
    return None


def _clean(text: str) -> str:
    """Text safe to store: surrogates (from invalid UTF-8, or escapes) replaced."""
    return _SURROGATE.sub("\ufffd", text)


def _excerpt(data: bytes | str) -> str:
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    return _clean(text[:RAW_EXCERPT])


def _json_error(e: json.JSONDecodeError) -> str:
    # some messages end in "at" ("Unterminated string starting at"): no "at at column"
    return f"{e.msg} column {e.colno}" if e.msg.endswith(" at") else f"{e.msg} at column {e.colno}"


def _object_or_reject(row: int, line: int | None, value: Any, raw: str) -> RawRow:
    if isinstance(value, dict):
        return RawRow(row, line, value)
    kind = "array" if isinstance(value, list) else type(value).__name__
    return RawRow(row, line, None, "not_an_object", f"the row is a JSON {kind}, not an object", raw)


# -- readers -------------------------------------------------------------------------------------


def iter_rows(path: Path, file_type: str) -> Iterator[RawRow]:
    """Yield every row of the file in order, one at a time (memory does not grow with the file).

    Raises:
        DatasetFormatError: the file cannot be read as ``file_type`` at all.
        DecompressionLimit: a gzip stream expands past the size or ratio limit.
    """
    if file_type == "jsonl":
        yield from _jsonl(path)
    elif file_type == "json":
        yield from _json_array(path)
    elif file_type == "parquet":
        yield from _parquet(path)
    elif file_type in ("csv", "tsv"):
        yield from _delimited(path, file_type)
    else:
        raise DatasetFormatError(f"{path}: unknown file type {file_type!r}; expected {FILE_TYPES}")


def _skip_long_line(f: IO[bytes], data: bytes) -> int:
    """Read past the rest of a line longer than ``MAX_ROW_BYTES``; its size in bytes."""
    size = len(data)
    while data and not data.endswith(b"\n"):
        data = f.readline(CHUNK)
        size += len(data)
    return size


def _too_large(row: int, line: int | None, size: int, unit: str = "bytes") -> RawRow:
    detail = f"the row is {size:,} {unit}; the limit is {MAX_ROW_BYTES:,}"
    return RawRow(row, line, None, "row_too_large", detail, None)


def _jsonl(path: Path) -> Iterator[RawRow]:
    with open_text(path) as f:
        row, line = 0, 0
        while True:
            data = f.readline(MAX_ROW_BYTES + 1)
            if not data:
                return
            line += 1
            if len(data) > MAX_ROW_BYTES and not data.endswith(b"\n"):
                yield _too_large(row, line, _skip_long_line(f, data))
                row += 1
                continue
            if not data.strip():
                continue
            try:
                text = data.decode("utf-8").rstrip("\r\n")  # a cut line: "Unterminated string"
            except UnicodeDecodeError as e:
                detail = f"invalid UTF-8 at byte {e.start} of the line"
                yield RawRow(row, line, None, "invalid_utf8", detail, _excerpt(data))
                row += 1
                continue
            try:
                value = _parse(text)
            except json.JSONDecodeError as e:
                yield RawRow(row, line, None, "invalid_json", _json_error(e), _excerpt(text))
            except _Reject as r:
                yield RawRow(row, line, None, r.reason, r.detail, _excerpt(text))
            else:
                yield _object_or_reject(row, line, value, _excerpt(text))
            row += 1


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
        data = self.f.read(CHUNK)
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
            value, end = _DECODER.raw_decode(self.buf, i)
        except (ValueError, RecursionError, _Reject):
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
            if forgotten or i - start > MAX_ROW_BYTES:  # too large: keep reading, keep nothing
                forgotten += i - start
                self.drop(i)
                start = i = 0
            if not self.fill():
                raise EOFError

    def _found(self, start: int, end: int, deepest: int, forgotten: int) -> tuple[int, int, int]:
        return (-1, end, forgotten + end - start) if forgotten else (start, end, deepest)


def _json_array(path: Path) -> Iterator[RawRow]:
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
                if i > CHUNK:
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
    if start < 0 or end - start > MAX_ROW_BYTES:
        return _too_large(row, line, deep if start < 0 else end - start, "characters")
    raw = w.buf[start:end]
    if deep > MAX_DEPTH or (deep < 0 and _too_deep(raw)):
        return RawRow(row, line, None, "too_deep", _deep_reject().detail, _excerpt(raw))
    if _SURROGATE.search(raw):  # raw text holds surrogates only where the bytes were not UTF-8
        at = raw.count("\n", 0, _SURROGATE.search(raw).start())  # type: ignore[union-attr]
        detail = f"invalid UTF-8 at line {line + at}"
        return RawRow(row, line, None, "invalid_utf8", detail, _excerpt(raw))
    try:
        value = _checked(decoded[0], raw) if decoded else _parse(raw, depth_checked=True)
    except json.JSONDecodeError as e:
        if e.lineno == 1:  # columns count from the element's start: make them the line's
            e.colno += start - w.buf.rfind("\n", 0, start) - 1
        raise DatasetFormatError(
            f"{path}: invalid JSON at line {line + e.lineno - 1}: {_json_error(e)} "
            f"(after {row} readable records; a JSON array cannot be read past a syntax error)"
        ) from e
    except _Reject as r:
        return RawRow(row, line, None, r.reason, r.detail, _excerpt(raw))
    return _object_or_reject(row, line, value, _excerpt(raw))


def _parquet(path: Path) -> Iterator[RawRow]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with tempfile.TemporaryFile() as spool:
        source: Any = path
        if _is_gzip(path):  # Parquet needs random access: decompress (guarded) to disk first
            with open_binary(path) as f:
                shutil.copyfileobj(f, spool, CHUNK)
            spool.seek(0)
            source = spool
        try:
            pf = pq.ParquetFile(source, buffer_size=CHUNK)
            batches = pf.iter_batches(batch_size=1024)
            row = 0
            for batch in batches:
                for value in _batch_rows(batch):
                    if isinstance(value, RawRow):
                        yield RawRow(row, None, None, value.reason, value.detail)
                    else:
                        found = guard_value(value)
                        yield RawRow(row, None, None, *found) if found else RawRow(row, None, value)
                    row += 1
        except (pa.ArrowException, OSError, ValueError) as e:  # pyarrow raises several types
            raise DatasetFormatError(f"{path}: not a readable Parquet file ({e})") from e


def _batch_rows(batch: Any) -> list[Any]:
    """A record batch as Python rows; a row whose values cannot be converted (invalid UTF-8 in a
    string column) is a reject in its place."""
    try:
        return batch.to_pylist()  # type: ignore[no-any-return]
    except UnicodeDecodeError:
        out: list[Any] = []
        for k in range(batch.num_rows):
            try:
                out.extend(batch.slice(k, 1).to_pylist())
            except UnicodeDecodeError as e:
                out.append(RawRow(-1, None, None, "invalid_utf8", f"invalid UTF-8 ({e.reason})"))
        return out


class _Lines:
    """The physical lines of a UTF-8 byte stream for ``csv.reader``: invalid bytes kept as
    surrogate escapes (rejected per row), a line longer than ``MAX_ROW_BYTES`` skipped with
    ``_LongLine`` (the reader resets and goes on with the next line)."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f, self.line, self.eof = f, 0, False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        data = self.f.readline(MAX_ROW_BYTES + 1)
        if not data:
            self.eof = True
            raise StopIteration
        self.line += 1
        if len(data) > MAX_ROW_BYTES and not data.endswith(b"\n"):
            raise _LongLine(_skip_long_line(self.f, data))
        return data.decode("utf-8", "surrogateescape")


class _LongLine(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


def _delimited(path: Path, file_type: str) -> Iterator[RawRow]:
    csv.field_size_limit(MAX_ROW_BYTES)
    with open_text(path) as f:
        lines = _Lines(f)
        # TSV files in the wild hold stray quotes: read them with quoting off.
        quoting: Literal[0, 1, 2, 3] = csv.QUOTE_NONE if file_type == "tsv" else csv.QUOTE_MINIMAL
        delimiter = "\t" if file_type == "tsv" else ","
        reader = csv.reader(lines, delimiter=delimiter, quoting=quoting)
        try:
            header = next(reader)
        except StopIteration:
            return
        except _LongLine as e:
            raise DatasetFormatError(f"{path}: the header line is {e.size:,} bytes long") from e
        except csv.Error as e:
            raise DatasetFormatError(f"{path}: cannot read the header line ({e})") from e
        if any(_SURROGATE.search(h) for h in header):
            raise DatasetFormatError(f"{path}: invalid UTF-8 in the header line")
        if lines.eof:
            raise DatasetFormatError(
                f"{path}: the header line opens a quoted field that is never closed"
            )
        row = 0
        while True:
            start = lines.line + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except _LongLine as e:
                yield _too_large(row, start, e.size)
                row += 1
                continue
            except csv.Error as e:
                yield RawRow(row, start, None, "malformed_csv", f"{e} (line {lines.line})", None)
                row += 1
                continue
            if lines.eof:  # the reader asked for a line past the end: a quote left open
                detail = (
                    f"a quoted field opened on line {start} is never closed: lines {start}-"
                    f"{lines.line} (the end of the file) were read as one row"
                )
                raw = _excerpt(delimiter.join(fields))
                yield RawRow(row, start, None, "unterminated_quote", detail, raw)
                return
            if not any(f.strip() for f in fields):
                continue
            bad = next((k for k, v in enumerate(fields) if _SURROGATE.search(v)), None)
            if bad is not None:
                name = repr(header[bad]) if bad < len(header) else f"{bad + 1}"
                detail = f"invalid UTF-8 in column {name} (line {start})"
                yield RawRow(row, start, None, "invalid_utf8", detail, _excerpt(fields[bad]))
            elif len(fields) != len(header):
                yield RawRow(
                    row,
                    start,
                    None,
                    "wrong_field_count",
                    f"{len(fields)} fields, the header has {len(header)}",
                    _excerpt(delimiter.join(fields)),
                )
            else:
                yield RawRow(row, start, dict(zip(header, fields, strict=True)))
            row += 1
