"""Dataset uploads, streamed to disk with their sha256 computed on the way.

A multipart upload (field ``file``, optional ``name`` and ``format``; at most ``MAX_PARTS``
parts, more are a 400) or a JSON body of records lands in ``uploads/.incoming/<random>.part``
while it streams; past the size limit the partial file is removed and the request gets 413. The server parses
nothing of the file itself (not even a JSON body of records): ``api.ingest`` reads it in a
child process. A complete file upload is renamed to ``uploads/<sha256>[.<type>]``: the client's
file name never becomes a path, only its extension (from a fixed list) is kept so the readers
can tell the file type.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from litestar import Request
from litestar.exceptions import ClientException, HTTPException
from multipart import MultipartError, MultipartSegment, ParserLimitReached, PushMultipartParser

from api.bodies import UnsupportedMediaType
from curate import InputError

SUFFIXES = (".jsonl", ".ndjson", ".json", ".parquet", ".csv", ".tsv")
MAX_FIELD_BYTES = 4096
"""Largest plain form field (``name``, ``format``)."""
MAX_PARTS = 16
"""Most parts in a multipart upload; more get 400 (the document states it: ``maxProperties``)."""


class TooLarge(HTTPException):
    """The upload is larger than the route's limit."""

    status_code = 413


@dataclass
class Upload:
    """A finished upload on disk."""

    path: Path
    sha256: str
    size: int
    filename: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    kind: str = "file"
    """``file`` (a multipart file part) or ``records`` (a JSON body, read by the child)."""


def file_suffix(filename: str | None) -> str:
    """The recognised extension of a client's file name (``.json``, ``.csv.gz``...), or ''."""
    name = (filename or "").lower().rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    gz = name.endswith(".gz")
    base = name[:-3] if gz else name
    for suffix in SUFFIXES:
        if base.endswith(suffix):
            return suffix + (".gz" if gz else "")
    return ".gz" if gz else ""


class _Sink:
    """A temporary file that hashes and counts what is written, within a limit."""

    def __init__(self, folder: Path, limit: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{secrets.token_hex(16)}.part"
        self.limit = limit
        self.size = 0
        self.digest = hashlib.sha256()
        self._f: IO[bytes] = open(self.path, "wb")  # noqa: SIM115 (closed in finish/discard)

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise TooLarge(detail=f"upload larger than the limit of {self.limit} bytes")
        self.digest.update(chunk)
        self._f.write(chunk)

    def finish(self) -> None:
        self._f.close()

    def discard(self) -> None:
        self._f.close()
        self.path.unlink(missing_ok=True)


async def _limited(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The request body's chunks, failing with 413 as soon as it exceeds ``limit``."""
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(
            detail=f"upload of {request.content_length} bytes is larger than the "
            f"limit of {limit} bytes"
        )
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise TooLarge(detail=f"upload larger than the limit of {limit} bytes")
        yield chunk


async def _multipart(request: Request, boundary: bytes, sink: _Sink, limit: int) -> Upload:
    fields: dict[str, str] = {}
    filename: str | None = None
    segment: MultipartSegment | None = None
    value = bytearray()
    files = parts = 0
    try:
        # the parser's own count is a backstop: ours says what the limit is, with a 400
        with PushMultipartParser(boundary, max_segment_count=MAX_PARTS + 1) as parser:
            async for chunk in _limited(request, limit):
                for part in parser.parse(chunk):
                    if isinstance(part, MultipartSegment):
                        parts += 1
                        if parts > MAX_PARTS:
                            raise InputError(f"a multipart upload has at most {MAX_PARTS} parts")
                        segment, value = part, bytearray()
                        if part.name == "file":
                            files += 1
                            filename = part.filename
                    elif part and segment is not None:
                        if segment.name == "file" and files == 1:
                            sink.write(part)
                        elif segment.name != "file":
                            value.extend(part)
                            if len(value) > MAX_FIELD_BYTES:
                                raise InputError(f"form field {segment.name!r} is too long")
                    elif part is None and segment is not None:
                        if segment.name != "file":
                            fields[segment.name] = value.decode("utf-8", errors="replace")
                        segment = None
            if not parser.closed:  # the stream's final empty chunk closes a complete body
                raise InputError("the multipart body ended early")
    except ParserLimitReached as e:  # a part's headers too long, say
        raise TooLarge(detail=f"multipart body over a limit: {e}") from None
    except MultipartError as e:
        raise InputError(f"malformed multipart body: {e}") from None
    if files != 1:
        raise InputError("a multipart upload needs exactly one part named 'file'")
    return Upload(sink.path, sink.digest.hexdigest(), sink.size, filename, fields)


async def _records(request: Request, sink: _Sink, limit: int) -> Upload:
    async for chunk in _limited(request, limit):
        sink.write(chunk)
    return Upload(sink.path, sink.digest.hexdigest(), sink.size, "records.jsonl", kind="records")


async def receive(request: Request, folder: Path, limit: int) -> Upload:
    """Stream a dataset upload to a temporary file in ``folder/.incoming``.

    Raises:
        TooLarge: the body exceeds ``limit`` bytes (nothing is left on disk).
        UnsupportedMediaType: neither multipart nor JSON (nothing is left on disk).
        InputError: a malformed multipart body (nothing is left on disk).
    """
    content_type, params = request.content_type
    sink = _Sink(folder / ".incoming", limit)
    try:
        if content_type == "multipart/form-data" and params.get("boundary"):
            upload = await _multipart(request, params["boundary"].encode(), sink, limit)
        elif content_type == "application/json":
            upload = await _records(request, sink, limit)
        else:
            raise UnsupportedMediaType(
                detail="send the dataset as multipart/form-data (a part named 'file') or "
                "as application/json ({name, records})"
            )
        sink.finish()
    except (Exception, ClientException):
        sink.discard()
        raise
    except BaseException:  # cancelled (client went away): leave nothing behind either
        sink.discard()
        raise
    if upload.size == 0:
        sink.discard()
        raise InputError("the uploaded file is empty" if upload.kind == "file" else "empty body")
    return upload


def keep(upload: Upload, folder: Path) -> Path:
    """Move a finished upload to its content-addressed name; returns the final path."""
    final = folder / f"{upload.sha256}{file_suffix(upload.filename)}"
    if final.exists():
        upload.path.unlink(missing_ok=True)
    else:
        upload.path.replace(final)
    return final
