"""The server's admin secret: how ``tunesmith keys`` manages API keys while the server runs.

DuckDB lets one process hold the store, so while ``tunesmith serve`` runs a command cannot open
it. At start-up the server makes a random admin secret and writes it, with its URL and pid, to
``<home>/server.json`` (mode 0600: readable by whoever may read the store itself); ``tunesmith
keys`` finds the file and calls ``/admin/keys`` with that secret. The file goes when the server
stops; a stale one (its pid gone) is ignored.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from api.config import ServerConfig

FILE = "server.json"


@dataclass(frozen=True)
class RunningServer:
    """A server that holds the store, as its ``server.json`` says."""

    url: str
    pid: int
    secret: str


def publish(root: Path, config: ServerConfig) -> str:
    """Make this server's admin secret and write ``server.json``; returns the secret."""
    secret = secrets.token_urlsafe(32)
    path = root / FILE
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"url": config.url, "pid": os.getpid(), "admin_secret": secret}, f)
    os.replace(tmp, path)
    return secret


def withdraw(root: Path) -> None:
    """Remove ``server.json`` if it is this process's."""
    found = running(root)
    if found is not None and found.pid == os.getpid():
        (root / FILE).unlink(missing_ok=True)


def running(root: Path) -> RunningServer | None:
    """The live server of the store in ``root``, if its file names one whose pid is alive."""
    try:
        data = json.loads((root / FILE).read_text(encoding="utf-8"))
        pid, url, secret = int(data["pid"]), data["url"], str(data["admin_secret"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    return RunningServer(url=url, pid=pid, secret=secret) if url else None
