"""The openai backend against a real OpenAI-compatible server: ``transformers serve`` on SmolLM2.

The server runs on 127.0.0.1 on a free port, started and stopped (by pid) here, with one torch
thread so it and this process share the two cores. Retry logic for 429 and 4xx answers is checked
against a tiny scripted HTTP server on 127.0.0.1 (pure client logic).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from curate.errors import InputError, TunesmithError
from curate.models.backends import get_generator
from curate.models.generation import SamplingParams
from curate.records import Message

PROMPTS = ["What is the capital of France?", "Name three primary colors.", "What is 2 + 2?"]
GREEDY = SamplingParams(max_tokens=12)


def chats(texts: list[str] = PROMPTS) -> list[list[Message]]:
    return [[Message(role="user", content=t)] for t in texts]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``transformers serve`` on one port, restartable."""

    def __init__(self, model: str, port: int, log: Path) -> None:
        self.model, self.port, self.log = model, port, log
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, wait: bool = True) -> None:
        exe = shutil.which("transformers", path=str(Path(sys.executable).parent))
        env = {
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }
        self.proc = subprocess.Popen(
            [exe, "serve", "--host", "127.0.0.1", "--port", str(self.port), self.model],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            env=env,
        )
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-2000:]
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"transformers serve did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


@pytest.fixture(scope="module")
def server(smollm2_path, tmp_path_factory):
    if shutil.which("transformers", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("transformers serve is not installed (pip install 'transformers[serving]')")
    srv = Server(smollm2_path, _free_port(), tmp_path_factory.mktemp("serve") / "serve.log")
    srv.start()
    yield srv
    srv.stop()


@pytest.mark.slow
def test_answers_match_the_local_backend(server, smol, smollm2_path):
    gen = get_generator("openai", smollm2_path, base_url=server.url, max_concurrency=2)
    remote = gen.generate(chats(), GREEDY)
    local = smol.generate(chats(), GREEDY)
    assert [g.text for g in remote] == [g.text for g in local]  # in order, greedy, same model
    assert "Paris" in remote[0].text
    assert remote[0].finish_reason == "stop"  # the model ended its turn well inside 12 tokens


@pytest.mark.slow
def test_stop_string_is_left_out_and_length_reported(server, smollm2_path):
    gen = get_generator("openai", smollm2_path, base_url=server.url)
    cut = gen.generate(chats(PROMPTS[:1]), SamplingParams(max_tokens=20, stop=("Paris",)))[0]
    assert cut.text.strip() and "Paris" not in cut.text
    short = gen.generate(chats(PROMPTS[1:2]), SamplingParams(max_tokens=2))[0]
    assert short.finish_reason == "length"


@pytest.mark.slow
def test_cached_rerun_needs_no_server(server, smollm2_path, store):
    gen = get_generator("openai", smollm2_path, base_url=server.url, store=store)
    first = gen.generate(chats(PROMPTS[:2]), GREEDY)
    dead = get_generator(
        "openai", smollm2_path, base_url="http://127.0.0.1:9/v1", store=store, max_retries=0
    )
    again = dead.generate(chats(PROMPTS[:2]), GREEDY)  # the URL is not in the key
    assert all(g.cached for g in again) and [g.text for g in again] == [g.text for g in first]


@pytest.mark.slow
def test_retries_across_a_server_restart(server, smollm2_path):
    gen = get_generator(
        "openai",
        smollm2_path,
        base_url=server.url,
        max_retries=60,
        backoff_s=0.5,
        max_backoff_s=4,
        cache=False,
    )
    assert "Paris" in gen.generate(chats(PROMPTS[:1]), GREEDY)[0].text
    server.stop()  # the server goes away; the next request finds the port closed
    server.start(wait=False)
    answer = gen.generate(chats(PROMPTS[:1]), GREEDY)[0]
    assert "Paris" in answer.text
    assert gen.retries >= 1


# -- retry and error logic against a scripted server ------------------------------------------


class Scripted(BaseHTTPRequestHandler):
    """Answers POSTs from a script of (status, headers) pairs, then 200; records requests."""

    script: ClassVar[list[tuple[int, dict[str, str]]]] = []
    seen: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append({"auth": self.headers.get("Authorization"), "body": body})
        status, headers = type(self).script.pop(0) if type(self).script else (200, {})
        payload = (
            {"error": {"message": "no such model"}}
            if status != 200
            else {
                "choices": [
                    {
                        "message": {"role": "assistant", "content": "ok STOP tail"},
                        "finish_reason": "stop",
                    }
                ]
            }
        )
        data = json.dumps(payload).encode()
        self.send_response(status)
        for k, v in {**headers, "Content-Type": "application/json"}.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def scripted():
    Scripted.script, Scripted.seen = [], []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_429_and_5xx_are_retried_with_the_key_from_the_environment(scripted, monkeypatch):
    monkeypatch.setenv("TUNESMITH_API_KEY", "sk-test")
    Scripted.script = [(429, {"Retry-After": "0.05"}), (503, {})]
    gen = get_generator("openai", "m", base_url=scripted, backoff_s=0.01)
    out = gen.generate(chats(PROMPTS[:1]), SamplingParams(stop=("STOP",), seed=3))
    assert out[0].text == "ok " and gen.retries == 2
    assert [s["auth"] for s in Scripted.seen] == ["Bearer sk-test"] * 3
    assert Scripted.seen[0]["body"]["seed"] == 3 and Scripted.seen[0]["body"]["stop"] == ["STOP"]


def test_client_errors_fail_at_once_and_retries_run_out(scripted, monkeypatch):
    monkeypatch.delenv("TUNESMITH_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    Scripted.script = [(404, {})]
    gen = get_generator("openai", "m", base_url=scripted, backoff_s=0.01, max_retries=2)
    with pytest.raises(InputError, match="no such model"):
        gen.generate(chats(PROMPTS[:1]), GREEDY)
    assert len(Scripted.seen) == 1 and Scripted.seen[0]["auth"] is None
    Scripted.script = [(500, {})] * 3
    with pytest.raises(TunesmithError, match="after 3 attempts"):
        gen.generate(chats(PROMPTS[:1]), GREEDY)


def test_named_key_variable_must_be_set(monkeypatch):
    monkeypatch.delenv("MY_KEY", raising=False)
    with pytest.raises(InputError, match="MY_KEY"):
        get_generator("openai", "m", base_url="http://127.0.0.1:9/v1", api_key_env="MY_KEY")
