"""A worker's own store: seeded from the main store's caches, merged back when the job ends.

Workers cannot open the main DuckDB file while the server holds it (see ``api.db``), so each job
gets ``jobs/<id>/home/tunesmith.duckdb``. Before its first attempt the server copies the
embedding and generation caches into it (later jobs reuse earlier work); after every attempt it
copies new cache rows and run records back (so nothing a worker computed is lost, and a resumed
attempt finds its own earlier rows in place).
"""

from __future__ import annotations

from pathlib import Path

from curate import Store

SEEDED = ("embeddings", "generations")
"""Caches copied into a new job store."""
MERGED_BY_KEY = ("embeddings", "generations", "curation_runs")
"""Tables with a primary key whose new rows are copied back (existing keys are kept)."""


def _attach(store: Store, path: Path, alias: str, *, read_only: bool) -> None:
    quoted = str(path).replace("'", "''")
    mode = " (READ_ONLY)" if read_only else ""
    store.con.execute(f"ATTACH '{quoted}' AS {alias}{mode}")


def _tables(store: Store, alias: str) -> set[str]:
    rows = store.con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [alias]
    ).fetchall()
    return {r[0] for r in rows}


def seed(main: Store, job_store: Path, alias: str) -> None:
    """Create the job's store (migrated) and copy the caches into it, once."""
    if job_store.exists():
        return  # a resumed attempt keeps what it had
    Store(job_store).close()
    _attach(main, job_store, alias, read_only=False)
    try:
        for table in SEEDED:
            main.con.execute(f"INSERT OR IGNORE INTO {alias}.{table} SELECT * FROM {table}")
    finally:
        main.con.execute(f"DETACH {alias}")


def merge(main: Store, job_store: Path, alias: str) -> dict[str, int]:
    """Copy a job store's new cache rows, curation runs and findings into the main store."""
    if not job_store.exists():
        return {}
    _attach(main, job_store, alias, read_only=True)
    added: dict[str, int] = {}
    try:
        present = _tables(main, alias)
        with main.transaction() as con:
            if {"findings", "curation_runs"} <= present:
                (n,) = con.execute(
                    f"INSERT INTO findings SELECT * FROM {alias}.findings WHERE run_id NOT IN "
                    "(SELECT id FROM curation_runs)"
                ).fetchone()  # type: ignore[misc]
                added["findings"] = int(n)
            for table in MERGED_BY_KEY:
                if table in present:
                    (n,) = con.execute(
                        f"INSERT OR IGNORE INTO {table} SELECT * FROM {alias}.{table}"
                    ).fetchone()  # type: ignore[misc]
                    added[table] = int(n)
    finally:
        main.con.execute(f"DETACH {alias}")
    return added
