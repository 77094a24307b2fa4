"""Read an upload into the store from a child process with a memory limit.

The server process only streams an upload to disk (hashing it on the way); it never
decompresses or parses one. A child (``python -m api.ingest``) under ``RLIMIT_AS`` reads the file
with the library's readers into a store of its own (``uploads/.incoming/<token>.duckdb``); the
server then copies that store's dataset, records and rejects into the main store (DuckDB lets
one process hold the main file). A gzip bomb or a huge JSON array costs the child its memory
limit, not the server: the child fails, the request gets 413, and the server answers throughout.

The child's answer is one JSON line on stdout: ``{"info": {...}}`` or ``{"error": <class name>,
"message": ...}``; its stderr goes to ``<home>/ingest.log``.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from api.db import Db
from api.uploads import TooLarge, Upload, keep
from curate import (
    ConflictError,
    DatasetFormatError,
    DatasetInfo,
    DecompressionLimit,
    InputError,
    NotFoundError,
    Store,
)

ERRORS: dict[str, type[Exception]] = {
    "DecompressionLimit": DecompressionLimit,  # a gzip bomb (413: api.errors)
    "DatasetFormatError": DatasetFormatError,
    "InputError": InputError,
    "ConfigError": InputError,
    "NotFoundError": NotFoundError,
    "ConflictError": ConflictError,
}
"""Library errors the child reports, by class name, raised again in the server (a subclass of
``DatasetFormatError`` is reported as its nearest listed base)."""

TABLES = ("datasets", "records", "rejects")


class Readers:
    """Child processes that read uploads, one per upload, started ahead of time.

    A child imports the readers and creates its own store (seconds on a busy machine) before
    it is needed: the next one starts as soon as one is taken, and waits on its stdin for the
    upload to read.
    """

    def __init__(self, root: Path, memory: int) -> None:
        self.root, self.memory = root, memory
        self._next: asyncio.Task[tuple[asyncio.subprocess.Process, Path]] | None = None

    def _env(self) -> dict[str, str]:
        code_root = str(Path(__file__).resolve().parents[1])
        return {
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "POLARS_MAX_THREADS": "1",
            "TUNESMITH_HOME": str(self.root / "uploads" / ".incoming"),  # never the main store
            "PYTHONPATH": os.pathsep.join(filter(None, [code_root, os.environ.get("PYTHONPATH")])),
        }

    async def _spawn(self) -> tuple[asyncio.subprocess.Process, Path]:
        store = self.root / "uploads" / ".incoming" / f"{secrets.token_hex(16)}.duckdb"
        store.parent.mkdir(parents=True, exist_ok=True)
        with open(self.root / "ingest.log", "ab") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "api.ingest",
                str(self.memory),
                str(store),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                env=self._env(),
            )
        return proc, store

    def start(self) -> None:
        """Start the first child."""
        self._next = asyncio.create_task(self._spawn())

    async def stop(self) -> None:
        """Kill the waiting child."""
        if self._next is not None:
            proc, store = await self._next
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            _discard(store)

    async def run(self, args: dict[str, Any]) -> tuple[dict[str, Any], Path]:
        """Read one upload in a child: its answer (``info`` or ``error``) and its store."""
        proc, store = await (self._next or asyncio.create_task(self._spawn()))
        self._next = asyncio.create_task(self._spawn())
        answer = await self._answer(proc, args)
        return answer, store

    async def _answer(
        self, proc: asyncio.subprocess.Process, args: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            out, _ = await proc.communicate((json.dumps(args) + "\n").encode())
        except BaseException:  # the client went away: do not leave the child reading
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            raise
        lines = out.decode("utf-8", errors="replace").strip().splitlines()
        answer: dict[str, Any] = {}
        if lines:
            try:
                answer = json.loads(lines[-1])
            except ValueError:
                answer = {}
        if "info" in answer or "error" in answer:
            return answer
        if (
            proc.returncode is not None and proc.returncode < 0
        ):  # native code aborts when out of memory
            return {"error": "MemoryError", "message": f"the reader died ({-proc.returncode})"}
        return {"error": "DatasetFormatError", "message": "the file could not be read"}


def _merge(db: Db, child_store: Path) -> DatasetInfo:
    """Copy the child's dataset into the main store (this thread's connection)."""
    store = db.store()
    alias = "ing_" + secrets.token_hex(6)
    quoted = str(child_store).replace("'", "''")
    store.con.execute(f"ATTACH '{quoted}' AS {alias} (READ_ONLY)")
    try:
        (dataset_id,) = store.con.execute(f"SELECT id FROM {alias}.datasets").fetchone()  # type: ignore[misc]
        with store.transaction() as con:
            if store.find_dataset(dataset_id) is None:
                for table in TABLES:
                    con.execute(f"INSERT INTO {table} SELECT * FROM {alias}.{table}")
    finally:
        store.con.execute(f"DETACH {alias}")
    return store.get_dataset(dataset_id)


def _discard(*paths: Path) -> None:
    for path in paths:
        for p in (path, path.with_name(path.name + ".wal")):
            p.unlink(missing_ok=True)


def _forget_unused(db: Db, path: Path) -> None:
    """Remove an upload's file unless a dataset was read from the same bytes."""
    used = (
        db.store()
        .con.execute("SELECT count(*) FROM datasets WHERE path = ?", [str(path.resolve())])
        .fetchone()
    )
    if not used or not used[0]:
        path.unlink(missing_ok=True)


async def ingest_upload(
    db: Db,
    readers: Readers,
    upload: Upload,
    *,
    name: str | None,
    shape: str | None,
    owner: str,
) -> DatasetInfo:
    """Read a received upload into the store (in a child process); returns the dataset.

    Raises:
        TooLarge: reading it needs more memory than the readers' limit, or it expands past
            the decompression limits.
        DatasetFormatError, InputError: the child's readers refused the file.
    """
    folder = db.root / "uploads"
    final: Path | None = None
    child_store: Path | None = None
    args: dict[str, Any] = {"owner": owner, "folder": str(folder)}
    if upload.kind == "records":
        args |= {"records": str(upload.path)}
    else:
        final = keep(upload, folder)
        args |= {"file": str(final), "name": name, "shape": shape}
    try:
        answer, child_store = await readers.run(args)
        if "error" in answer:
            kind, message = answer["error"], str(answer.get("message", ""))
            if kind == "MemoryError":
                raise TooLarge(
                    detail="reading this dataset needs more memory than the server allows "
                    f"for one upload ({readers.memory >> 20} MiB); send a smaller file"
                )
            raise ERRORS.get(kind, DatasetFormatError)(message)
        info = await asyncio.to_thread(_merge, db, child_store)
        return info
    except BaseException:
        if final is not None:
            await asyncio.to_thread(_forget_unused, db, final)
        raise
    finally:
        if child_store is not None:
            _discard(child_store)


# -- the child ----------------------------------------------------------------------------------


def _records_file(raw: Path, folder: Path) -> tuple[Path, str, str | None, bool]:
    """A JSON ``{name, records, format?}`` body as a content-addressed ``.jsonl`` upload."""
    import hashlib

    from pydantic import ValidationError

    from api.bodies import check_depth, errors_text
    from api.schemas import RecordsUpload

    body = raw.read_bytes()
    check_depth(body)
    try:
        upload = RecordsUpload.model_validate_json(body, strict=True)
    except ValidationError as e:
        raise InputError(f"invalid records body: {errors_text(e)}") from None
    lines = b"".join(
        (json.dumps(row, ensure_ascii=False) + "\n").encode() for row in upload.records
    )
    final = folder / f"{hashlib.sha256(lines).hexdigest()}.jsonl"
    new = not final.exists()
    if new:
        tmp = raw.with_suffix(".jsonl")
        tmp.write_bytes(lines)
        tmp.replace(final)
    return final, upload.name, upload.format, new


def _child(args: dict[str, Any], store: Store) -> dict[str, Any]:
    from curate import ingest

    folder, new = Path(args["folder"]), False
    name: str | None
    shape: str | None
    if "records" in args:
        path, name, shape, new = _records_file(Path(args["records"]), folder)
    else:
        path, name, shape = Path(args["file"]), args.get("name"), args.get("shape")
    try:
        info = ingest(path, shape=shape, name=name, store=store, owner=args["owner"])
    except BaseException:
        if new:  # a file this child made and no dataset was read from
            path.unlink(missing_ok=True)
        raise
    return {"info": info.model_dump(mode="json")}


def main(argv: list[str]) -> int:
    """Load the readers, wait for one upload's JSON arguments on stdin, read it, print the
    answer line (``argv``: the memory limit in bytes, the path of the store to read into)."""
    import resource

    memory = int(argv[0])
    # first of all, before the readers load: the limit covers everything this process does
    # (set here, not in a pre-exec hook, which is unsafe in the server's threaded process)
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    sink = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # stray prints go to the log, not into the answer
    try:
        from curate import Store  # the readers load, and the store is made, before any upload

        with Store(Path(argv[1])) as store:
            line = sys.stdin.readline()
            if not line:
                return 0  # the server stopped without an upload for us
            answer = _child(json.loads(line), store)
        code = 0
    except MemoryError:
        answer, code = {"error": "MemoryError", "message": "out of memory"}, 3
    except Exception as e:
        kind = next((c.__name__ for c in type(e).__mro__ if c.__name__ in ERRORS), None)
        message = str(e) if kind else f"the file could not be read ({type(e).__name__})"
        answer, code = {"error": kind or "DatasetFormatError", "message": message}, 2
        if kind is None:  # not a refusal the library meant: keep the traceback in the log
            import traceback

            traceback.print_exc()
    sink.write(json.dumps(answer) + "\n")
    sink.flush()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
