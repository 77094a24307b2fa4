"""The store: one DuckDB file holding datasets, records, rejects, caches, runs and jobs.

Large artifacts (curated Parquet, adapters, HTML reports) live in run folders beside the database
and are referenced from it. ``TUNESMITH_HOME`` moves the whole store (default ``./.tunesmith``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from pydantic import BaseModel, ConfigDict

from curate.errors import NotFoundError
from curate.records import RECORD_SCHEMA, REJECT_SCHEMA
from curate.store.migrations import MIGRATIONS


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
    """A connection to the DuckDB store, with the library's migrations applied on open."""

    def __init__(self, path: Path | str | None = None, *, read_only: bool = False) -> None:
        self.path = Path(path) if path else home() / "tunesmith.duckdb"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(str(self.path), read_only=read_only)
        if not read_only:
            self.migrate()

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)"
        )
        done = {n for (n,) in self.con.execute("SELECT name FROM schema_migrations").fetchall()}
        for name, sql in migrations:
            if name in done:
                continue
            with self.transaction():
                self.con.execute(sql)
                self.con.execute(
                    "INSERT INTO schema_migrations "
                    "SELECT coalesce(max(version), 0) + 1, ?, ? FROM schema_migrations",
                    [name, _now()],
                )
            done.add(name)
        return len(done)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    # -- datasets ----------------------------------------------------------------------------

    def add_dataset(
        self, info: DatasetInfo, records: pl.DataFrame, rejects: pl.DataFrame
    ) -> DatasetInfo:
        """Record a dataset with its records and rejects; a no-op if its id is already there."""
        existing = self.find_dataset(info.id)
        if existing is not None:
            return existing
        recs = records.select(list(RECORD_SCHEMA)).to_arrow()
        rejs = rejects.select(list(REJECT_SCHEMA)).to_arrow()
        with self.transaction() as con:
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
        table = self.con.execute(
            f"SELECT {cols} FROM records WHERE dataset_id = ? ORDER BY row", [dataset_id]
        ).to_arrow_table()
        return pl.DataFrame(pl.from_arrow(table)).cast(RECORD_SCHEMA)  # type: ignore[arg-type]

    def rejects(self, dataset_id: str) -> pl.DataFrame:
        """The dataset's rejected rows in file order, as a frame of ``REJECT_SCHEMA``."""
        cols = ", ".join(REJECT_SCHEMA)
        table = self.con.execute(
            f"SELECT {cols} FROM rejects WHERE dataset_id = ? ORDER BY row", [dataset_id]
        ).to_arrow_table()
        return pl.DataFrame(pl.from_arrow(table)).cast(REJECT_SCHEMA)  # type: ignore[arg-type]

    def delete_dataset(self, dataset_id: str) -> None:
        """Remove a dataset with its records and rejects."""
        with self.transaction() as con:
            for table in ("records", "rejects"):
                con.execute(f"DELETE FROM {table} WHERE dataset_id = ?", [dataset_id])
            con.execute("DELETE FROM datasets WHERE id = ?", [dataset_id])

    # -- helpers -----------------------------------------------------------------------------

    def _fetch_dicts(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _dataset(row: dict[str, Any]) -> DatasetInfo:
    row = dict(row)
    row["reject_reasons"] = json.loads(row["reject_reasons"])
    return DatasetInfo(**row)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
