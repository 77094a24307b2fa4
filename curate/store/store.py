"""The store: one DuckDB file holding datasets, records, rejects, caches, runs and jobs.

Large artifacts (curated Parquet, adapters, HTML reports) live in run folders beside the database
and are referenced from it. ``TUNESMITH_HOME`` moves the whole store (default ``./.tunesmith``).

DuckDB lets one process open the file read-write, and no other process open it at all
meanwhile (not even read-only). So the store opens its connection per operation and closes it
after: a long curation holds the file only while it reads its input or records its run, and
``tunesmith datasets`` works while it computes. An open that finds the file held waits (saying
once who holds it) and retries for up to ``TUNESMITH_STORE_WAIT`` seconds (default 60), then
raises ``StoreBusy`` naming the holding process. A caller that wants one connection for many
statements (the API server) takes ``store.con``, which stays open until ``release()``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from pydantic import BaseModel, ConfigDict

from curate.errors import NotFoundError, StoreBusy
from curate.records import RECORD_SCHEMA, REJECT_SCHEMA
from curate.store.migrations import MIGRATIONS


def arrow_table(con: duckdb.DuckDBPyConnection, query: str, params: Sequence[Any] = ()) -> Any:
    """A query's result as an Arrow table (``pyarrow.Table``).

    DuckDB 2 warns that Arrow output of a DB-API result copies the rows once more and points
    to the relation API (``con.sql``). That API refuses to run while another result on the
    connection is unfinished (a ``fetchone`` elsewhere), which a connection shared between
    operations cannot rule out; the copy is the safer cost, so the warning is silenced here.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Arrow output on a DB-API result", UserWarning)
        return con.execute(query, list(params)).to_arrow_table()


log = logging.getLogger("tunesmith.store")

DEFAULT_WAIT = 60.0
"""Seconds an open waits for another process to let go of the file (``TUNESMITH_STORE_WAIT``)."""

# DuckDB's message: 'Could not set lock on file "…": Conflicting lock is held in /usr/bin/python3
# (PID 4870). See also …'
_LOCK_HELD = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")


def home() -> Path:
    """The store's folder: ``$TUNESMITH_HOME`` or ``./.tunesmith``."""
    return Path(os.environ.get("TUNESMITH_HOME", ".tunesmith")).resolve()


class DatasetInfo(BaseModel):
    """A dataset as recorded in the store."""

    model_config = ConfigDict(frozen=True)

    id: str
    """Stable id: a hash of the file's bytes and how it was read; re-ingesting gives the same."""
    name: str
    """A human name (defaults to the file's stem)."""
    path: str
    """The file it was read from."""
    content_sha256: str
    """sha256 of the file's bytes."""
    shape: str
    """The detected (or forced) row shape: alpaca, sharegpt, openai, ..."""
    file_type: str
    """jsonl, json, parquet, csv or tsv (gzip is transparent)."""
    n_rows: int
    """Rows in the file; always ``n_records + n_rejects``."""
    n_records: int
    """Rows read into canonical records."""
    n_rejects: int
    """Rows kept in the rejects table with a reason."""
    reject_reasons: dict[str, int]
    """Rejected rows counted by reason code."""
    owner: str | None = None
    """The API key id that owns it (None for local use)."""
    created_at: datetime
    """When it was first ingested (UTC)."""


class Store:
    """The DuckDB store, with the library's migrations applied on open. Each operation opens
    the file and closes it after (``session()``), unless ``con`` holds a connection open."""

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        read_only: bool = False,
        wait: float | None = None,
    ) -> None:
        """Open (and migrate) the store at ``path``; default ``home()/tunesmith.duckdb``.

        Args:
            path: the database file.
            read_only: open it read-only (no migrations).
            wait: seconds an open waits for another process holding the file; default
                ``$TUNESMITH_STORE_WAIT`` or ``DEFAULT_WAIT``.

        Raises:
            StoreBusy: another process held the file for longer than ``wait``.
        """
        self.path = Path(path) if path else home() / "tunesmith.duckdb"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.read_only = read_only
        self.wait = _default_wait() if wait is None else wait
        self._con: duckdb.DuckDBPyConnection | None = None
        self._held = False  # opened through ``con``: kept open until release()
        self._depth = 0  # sessions in progress on the open connection
        self._waited_for: str | None = None  # the holder last reported, to say so only once
        if read_only:
            with self.session():  # fail here, as before, if the file cannot be opened
                pass
        else:
            self.migrate()

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """A connection held open (and the file locked) until ``release()`` or ``close()``, for
        callers that run many statements on one connection; prefer ``session()``."""
        if self._con is None:
            self._con = self._connect()
        self._held = True
        return self._con

    @contextmanager
    def session(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one operation: the open one if there is one, else one opened now
        and closed when the operation ends, so the file is not held between operations."""
        if self._con is None:
            self._con = self._connect()
        self._depth += 1
        try:
            yield self._con
        finally:
            self._depth -= 1
            if self._depth == 0 and not self._held:
                self._disconnect()

    def arrow_table(self, query: str, params: Sequence[Any] = ()) -> Any:
        """A read query's result as an Arrow table (``arrow_table`` on this store's connection)."""
        with self.session() as con:
            return arrow_table(con, query, params)

    def release(self) -> None:
        """Close the connection ``con`` held (between operations there is none to close)."""
        self._held = False
        if self._depth == 0:
            self._disconnect()

    def close(self) -> None:
        """Close the connection, if one is open; the store opens a new one if used again."""
        self.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _disconnect(self) -> None:
        con, self._con = self._con, None
        if con is not None:
            con.close()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """Open the file, waiting (with backoff, up to ``self.wait`` s) while another process
        holds it."""
        deadline = time.monotonic() + self.wait
        delay = 0.02
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=self.read_only)
            except duckdb.IOException as e:
                if "Could not set lock" not in str(e):
                    raise
                holder = _holder(str(e))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StoreBusy(
                        f"the store {self.path} is in use by {holder}; gave up after waiting "
                        f"{self.wait:g} s (TUNESMITH_STORE_WAIT sets how long to wait)"
                    ) from e
                if holder != self._waited_for:
                    log.warning("waiting for the store %s held by %s", self.path, holder)
                    self._waited_for = holder
                time.sleep(min(delay, left))
                delay = min(delay * 2, 0.5)

    @property
    def root(self) -> Path:
        """The folder beside the database where run artifacts live."""
        return self.path.parent

    def migrate(self, migrations: Sequence[tuple[str, str]] = MIGRATIONS) -> int:
        """Apply, in order, the migrations whose name this store has not recorded.

        A migration is known by its name, not its place in a list, so that the library's list
        and another one (the API's) both grow without colliding; ``version`` only records the
        order in which this file applied them.

        Args:
            migrations: ``(name, sql)`` pairs; the library's by default.

        Returns:
            The schema version: how many migrations this store has applied.
        """
        with self.session() as con:
            con.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)"
            )
            done = {n for (n,) in con.execute("SELECT name FROM schema_migrations").fetchall()}
            for name, sql in migrations:
                if name in done:
                    continue
                with self.transaction():
                    con.execute(sql)
                    con.execute(
                        "INSERT INTO schema_migrations "
                        "SELECT coalesce(max(version), 0) + 1, ?, ? FROM schema_migrations",
                        [name, _now()],
                    )
                done.add(name)
        return len(done)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction in one session: committed at the end, rolled back on an error."""
        with self.session() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # -- datasets ----------------------------------------------------------------------------

    def add_dataset(
        self, info: DatasetInfo, records: pl.DataFrame, rejects: pl.DataFrame
    ) -> DatasetInfo:
        """Record a dataset with its records and rejects; a no-op if its id is already there."""
        recs = records.select(list(RECORD_SCHEMA)).to_arrow()
        rejs = rejects.select(list(REJECT_SCHEMA)).to_arrow()
        with self.transaction() as con:
            # looked up inside the transaction: a concurrent ingest of the same file is a no-op
            existing = self.find_dataset(info.id)
            if existing is not None:
                return existing
            con.execute(
                "INSERT INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    info.id,
                    info.name,
                    info.path,
                    info.content_sha256,
                    info.shape,
                    info.file_type,
                    info.n_rows,
                    info.n_records,
                    info.n_rejects,
                    json.dumps(info.reject_reasons),
                    info.owner,
                    info.created_at,
                ],
            )
            con.register("_recs", recs)
            con.execute("INSERT INTO records SELECT ? AS dataset_id, * FROM _recs", [info.id])
            con.unregister("_recs")
            con.register("_rejs", rejs)
            con.execute("INSERT INTO rejects SELECT ? AS dataset_id, * FROM _rejs", [info.id])
            con.unregister("_rejs")
        return info

    def find_dataset(self, ref: str, owner: str | None = None) -> DatasetInfo | None:
        """A dataset by id, or by name (the newest of that name); None if there is none."""
        sql = "SELECT * FROM datasets WHERE (id = ? OR name = ?)"
        params: list[Any] = [ref, ref]
        if owner is not None:
            sql += " AND owner = ?"
            params.append(owner)
        row = self._fetch_dicts(
            sql + " ORDER BY (id = ?) DESC, created_at DESC LIMIT 1", [*params, ref]
        )
        return _dataset(row[0]) if row else None

    def get_dataset(self, ref: str, owner: str | None = None) -> DatasetInfo:
        """A dataset by id or name; raises ``NotFoundError`` if there is none."""
        info = self.find_dataset(ref, owner)
        if info is None:
            raise NotFoundError(f"no dataset with id or name {ref!r}")
        return info

    def list_datasets(self, owner: str | None = None) -> list[DatasetInfo]:
        """All datasets, newest first."""
        where, params = ("WHERE owner = ?", [owner]) if owner is not None else ("", [])
        rows = self._fetch_dicts(
            f"SELECT * FROM datasets {where} ORDER BY created_at DESC, id", params
        )
        return [_dataset(r) for r in rows]

    def records(self, dataset_id: str) -> pl.DataFrame:
        """The dataset's records in file order, as a frame of ``RECORD_SCHEMA``."""
        cols = ", ".join(RECORD_SCHEMA)
        query = f"SELECT {cols} FROM records WHERE dataset_id = ? ORDER BY row"
        table = self.arrow_table(query, [dataset_id])
        return pl.DataFrame(pl.from_arrow(table)).cast(RECORD_SCHEMA)  # type: ignore[arg-type]

    def rejects(self, dataset_id: str) -> pl.DataFrame:
        """The dataset's rejected rows in file order, as a frame of ``REJECT_SCHEMA``."""
        cols = ", ".join(REJECT_SCHEMA)
        query = f"SELECT {cols} FROM rejects WHERE dataset_id = ? ORDER BY row"
        table = self.arrow_table(query, [dataset_id])
        return pl.DataFrame(pl.from_arrow(table)).cast(REJECT_SCHEMA)  # type: ignore[arg-type]

    def delete_dataset(self, dataset_id: str) -> None:
        """Remove a dataset with its records and rejects."""
        with self.transaction() as con:
            for table in ("records", "rejects"):
                con.execute(f"DELETE FROM {table} WHERE dataset_id = ?", [dataset_id])
            con.execute("DELETE FROM datasets WHERE id = ?", [dataset_id])

    # -- helpers -----------------------------------------------------------------------------

    def _fetch_dicts(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        with self.session() as con:
            cur = con.execute(sql, params or [])
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _dataset(row: dict[str, Any]) -> DatasetInfo:
    row = dict(row)
    row["reject_reasons"] = json.loads(row["reject_reasons"])
    return DatasetInfo(**row)


def _default_wait() -> float:
    value = os.environ.get("TUNESMITH_STORE_WAIT", "")
    try:
        return max(0.0, float(value)) if value else DEFAULT_WAIT
    except ValueError:
        return DEFAULT_WAIT


def _holder(message: str) -> str:
    """Who holds the file, from DuckDB's lock error: ``PID 4870 (/usr/bin/python3)``."""
    m = _LOCK_HELD.search(message)
    return f"PID {m['pid']} ({m['program']})" if m else "another process"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
