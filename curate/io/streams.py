"""Bounded byte streams: guarded gzip decompression, and text decoding to UTF-8.

- **Decompression guard**: a gzip stream stops with ``DecompressionLimit`` past
  ``MAX_DECOMPRESSED_BYTES`` out, or past ``MAX_DECOMPRESSION_RATIO`` out:in once more than
  ``RATIO_CHECK_AFTER_BYTES`` are out (``curate.io.limits``; environment variables override
  them). Truncated or corrupt gzip data is a ``DatasetFormatError`` naming the file.
- **Text decoding**: a UTF-8 BOM is skipped; a UTF-16/32 BOM makes the file decode as such;
  binary content (another compression, NUL bytes) is refused by name.
"""

from __future__ import annotations

import codecs
import gzip
import io
import zlib
from pathlib import Path
from typing import IO, Any

from curate.errors import DatasetFormatError, DecompressionLimit
from curate.io import limits
from curate.io.rows import FILE_TYPES

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
        env = limits.env_limit
        self.max_bytes = env("TUNESMITH_MAX_DECOMPRESSED_BYTES", limits.MAX_DECOMPRESSED_BYTES)
        self.max_ratio = env("TUNESMITH_MAX_DECOMPRESSION_RATIO", limits.MAX_DECOMPRESSION_RATIO)
        self.ratio_after = env(
            "TUNESMITH_DECOMPRESSION_RATIO_AFTER_BYTES", limits.RATIO_CHECK_AFTER_BYTES
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


def is_gzip(path: Path) -> bool:
    """Whether the file starts with gzip's magic bytes."""
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def open_binary(path: Path) -> io.BufferedReader:
    """Open a file for reading bytes, decompressing gzip (detected by its magic bytes) under the
    decompression guard."""
    if is_gzip(path):
        return io.BufferedReader(_GuardedGzip(path), limits.CHUNK)
    return open(path, "rb")


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
            data = self.f.read(limits.CHUNK)
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
                    f = io.BufferedReader(_Transcoder(path, f, encoding), limits.CHUNK)
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


def skip_long_line(f: IO[bytes], data: bytes) -> int:
    """Read past the rest of a line longer than ``MAX_ROW_BYTES`` (``data`` is its start,
    already read), keeping none of it; its size in bytes."""
    size = len(data)
    while data and not data.endswith(b"\n"):
        data = f.readline(limits.CHUNK)
        size += len(data)
    return size
