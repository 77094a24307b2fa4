"""``tunesmith keys`` and ``tunesmith remote --server`` against a real store and server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import Server, cli, new_key

pytestmark = pytest.mark.slow  # each command is a fresh interpreter


def test_keys_are_hashed_listed_and_revocable(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    key = new_key(home, "ci")
    other = new_key(home, "laptop")
    key_id = key.split("_")[1]
    listed = cli(home, "keys", "list").stdout
    assert "ci" in listed and "laptop" in listed and "active" in listed
    assert key.split("_", 2)[2] not in (home / "tunesmith.duckdb").read_bytes().decode("latin-1")

    server = Server(home).start()
    try:
        assert (
            httpx.get(
                f"{server.url}/v1/jobs", headers={"Authorization": f"Bearer {key}"}
            ).status_code
            == 200
        )
        busy = cli(home, "keys", "list")  # the server holds the store: it answers through it
        assert busy.returncode == 0 and "ci" in busy.stdout and "laptop" in busy.stdout
        assert cli(home, "keys", "revoke", "nope").returncode == 2  # 404 through the server too
    finally:
        server.stop()
    assert not (home / "server.json").exists()  # a stopped server leaves no admin secret
    done = cli(home, "keys", "revoke", key_id)
    assert done.returncode == 0 and "revoked" in done.stdout
    assert cli(home, "keys", "revoke", "nope").returncode == 2
    server.start()
    try:
        r = httpx.get(f"{server.url}/v1/jobs", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 401 and "revoked" in r.json()["detail"]
        assert (
            httpx.get(
                f"{server.url}/v1/jobs", headers={"Authorization": f"Bearer {other}"}
            ).status_code
            == 200
        )
    finally:
        server.stop()


def test_remote_commands_drive_a_server(parked, tmp_path: Path) -> None:
    server, (key, _) = parked
    data = tmp_path / "tiny.jsonl"
    data.write_text(json.dumps({"instruction": "Count to two.", "output": "1, 2"}) + "\n")
    config = tmp_path / "curate.toml"
    config.write_text("[near]\nthreshold = 0.8\n")
    base = ("remote", "--server", server.url, "--key", key)

    up = cli(server.home, *base, "upload", str(data), "--name", "tiny")
    assert up.returncode == 0, up.stderr
    dataset = json.loads(up.stdout)
    assert dataset["n_records"] == 1

    sub = cli(
        server.home, *base, "submit", "curate", "--dataset", dataset["id"], "--config", str(config)
    )
    assert sub.returncode == 0, sub.stderr
    job_id = sub.stdout.strip()
    status = json.loads(cli(server.home, *base, "status", job_id).stdout)
    assert status["state"] == "queued" and status["request"]["config"]["near"]["threshold"] == 0.8
    assert job_id in cli(server.home, *base, "jobs", "--state", "queued").stdout
    assert cli(server.home, *base, "cancel", job_id).stdout.strip() == "cancelled"
    followed = cli(server.home, *base, "follow", job_id)
    assert followed.returncode == 1 and "cancelled" in followed.stdout
    missing = cli(server.home, *base, "status", "job_nope")
    assert missing.returncode == 2 and "no job" in missing.stderr
    bad = cli(server.home, "remote", "--server", server.url, "--key", "tsk_x_y", "jobs")
    assert bad.returncode != 0
