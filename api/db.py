"""The server process's hold on the store.

Why the server owns the DuckDB file: DuckDB lets one *process* open a database file read-write
at a time (a second process gets a lock error, even read-only). So the server process is the
only one that opens ``TUNESMITH_HOME/tunesmith.duckdb`` while it runs; inside it, connections
from several threads share one database instance, which DuckDB allows. Worker processes never
open that file: the supervisor hands a worker its input as files in the job's folder, gives it a
store of its own (``jobs/<id>/home/tunesmith.duckdb``, seeded with the embedding and generation
caches, so resuming and later jobs reuse them), receives its progress over a pipe, and merges
its caches and run records back into the main store when it ends (``api.jobs.caches``).
``tunesmith keys`` goes through the running server (``/admin/keys``, see ``api.admin``) and
opens the file itself only when no server holds it.
"""

from __future__ import annotations

import threading
from pathlib import Path

from api.migrations import open_store
from curate import Store


class Db:
    """The main store (with the API's tables), one connection per thread of the server process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.main = open_store(path)  # migrates once, on the event loop's thread
        self._owner = threading.get_ident()
        self._local = threading.local()
        self._opened: list[Store] = []
        self._lock = threading.Lock()

    def store(self) -> Store:
        """This thread's store (the event loop thread gets the main one)."""
        if threading.get_ident() == self._owner:
            return self.main
        s = getattr(self._local, "store", None)
        if s is None:
            s = Store(self.path)  # same process: shares the main connection's database instance
            self._local.store = s
            with self._lock:
                self._opened.append(s)
        return s

    @property
    def root(self) -> Path:
        """The store's folder (uploads and job folders live under it)."""
        return self.main.root

    def close(self) -> None:
        """Close every connection, the main one last (checkpoints the file)."""
        with self._lock:
            for s in self._opened:
                s.con.close()
            self._opened.clear()
        self.main.con.execute("CHECKPOINT")
        self.main.close()
