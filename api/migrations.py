"""The API's tables (keys, jobs, job events, idempotency keys) as migrations of the store.

The library's store holds datasets, records, caches and runs (``curate.store.migrations``);
the API adds its tables where it opens a store for itself: its main store (``api.db``) and
``tunesmith keys``. Job workers' stores and library commands (``tunesmith curate``) never get
them. Append only, and never rename an entry: a store knows a migration by its name (stores
made before the API had its own list recorded this one as version 4 of one shared list).
"""

from __future__ import annotations

from pathlib import Path

from curate import Store

MIGRATIONS: list[tuple[str, str]] = [
    (
        "api: keys, jobs, job events, idempotency keys",
        """
        CREATE TABLE api_keys (
            id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            secret_sha256 VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            revoked_at TIMESTAMP
        );
        CREATE TABLE jobs (
            id VARCHAR PRIMARY KEY,
            owner VARCHAR NOT NULL,
            type VARCHAR NOT NULL,
            state VARCHAR NOT NULL,
            request JSON NOT NULL,
            result JSON,
            verdict VARCHAR,
            error VARCHAR,
            attempts INTEGER NOT NULL,
            worker_pid INTEGER,
            created_at TIMESTAMP NOT NULL,
            started_at TIMESTAMP,
            finished_at TIMESTAMP
        );
        CREATE TABLE job_events (
            job_id VARCHAR NOT NULL,
            seq INTEGER NOT NULL,
            type VARCHAR NOT NULL,
            data JSON NOT NULL,
            created_at TIMESTAMP NOT NULL,
            PRIMARY KEY (job_id, seq)
        );
        CREATE TABLE idempotency_keys (
            owner VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            route VARCHAR NOT NULL,
            body_sha256 VARCHAR NOT NULL,
            status_code INTEGER,
            headers JSON,
            body BLOB,
            created_at TIMESTAMP NOT NULL,
            PRIMARY KEY (owner, key)
        );
        """,
    ),
]


def open_store(path: Path | None = None) -> Store:
    """The store at ``path`` (default: the main one), with the library's and the API's tables."""
    store = Store(path)
    try:
        store.migrate(MIGRATIONS)
    except BaseException:
        store.close()
        raise
    return store
