"""A real ``tunesmith serve`` on 127.0.0.1 (a subprocess on a free port) and its API keys."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from api.client import Client

TUNESMITH = [sys.executable, "-c", "from api.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a ``tunesmith`` command against the store in ``home``."""
    env = {**os.environ, "TUNESMITH_HOME": str(home)}
    return subprocess.run([*TUNESMITH, *args], env=env, capture_output=True, text=True, timeout=120)


def new_key(home: Path, name: str) -> str:
    """A fresh API key, made by the real ``tunesmith keys create`` (server must be stopped)."""
    done = cli(home, "keys", "create", "--name", name)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@dataclass
class Server:
    """A ``tunesmith serve`` subprocess."""

    home: Path
    args: list[str] = field(default_factory=list)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Server:
        self.port = free_port()
        env = {**os.environ, "TUNESMITH_HOME": str(self.home)}
        log = open(self.home / f"server-{self.port}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [*TUNESMITH, "serve", "--port", str(self.port), *self.args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not start: {self.log()[-2000:]}")

    def log(self) -> str:
        return (self.home / f"server-{self.port}.log").read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks run (a crash)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """A graceful stop (SIGTERM), as a service manager does."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def client(self, key: str | None) -> Client:
        return Client(self.url, key)


@pytest.fixture(scope="session")
def parked(tmp_path_factory: pytest.TempPathFactory):
    """A server whose jobs stay queued (every per-type limit 0), with two keys, small upload
    limit: for the fast HTTP contract tests."""
    home = tmp_path_factory.mktemp("api") / "home"
    home.mkdir()
    keys = (new_key(home, "alice"), new_key(home, "bob"))
    jobs = [
        a for t in ("curate", "synthesize", "train", "eval", "gate") for a in ("--jobs", f"{t}=0")
    ]
    server = Server(home, [*jobs, "--max-upload-mb", "1", "--heartbeat", "0.2"]).start()
    yield server, keys
    server.stop()
