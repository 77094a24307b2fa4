"""The generation cache's logic, with a counting fake backend (pure logic) and a real store."""

from __future__ import annotations

from curate.models.backends import CachedGenerator, generation_key
from curate.models.generation import Generation, SamplingParams
from curate.records import Message


class Echo:
    """A fake backend that echoes the last message and counts what it was asked."""

    backend = "echo"
    model = "echo-1"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def generate(self, chats, params, adapter=None):
        self.asked += [c[-1].content for c in chats]
        return [Generation(text=c[-1].content.upper(), finish_reason="stop") for c in chats]


def chat(text: str) -> list[Message]:
    return [Message(role="user", content=text)]


def test_only_missing_and_distinct_requests_reach_the_backend(store):
    echo = Echo()
    gen = CachedGenerator(echo, store)
    params = SamplingParams(max_tokens=4)
    assert [g.text for g in gen.generate([chat("a"), chat("b"), chat("a")], params)] == [
        "A",
        "B",
        "A",
    ]
    assert echo.asked == ["a", "b"]  # the duplicate is generated once
    out = gen.generate([chat("b"), chat("c")], params)
    assert [g.cached for g in out] == [True, False]
    assert echo.asked == ["a", "b", "c"]
    assert (gen.hits, gen.misses) == (2, 3)


def test_key_covers_adapter_params_and_seed(store):
    echo = Echo()
    gen = CachedGenerator(echo, store)
    params = SamplingParams(max_tokens=4, temperature=0.7, seed=1)
    gen.generate([chat("a")], params)
    gen.generate([chat("a")], params, adapter="runs/x")
    gen.generate([chat("a")], params.model_copy(update={"seed": 2}))
    assert echo.asked == ["a", "a", "a"]
    keys = {
        generation_key("echo", "echo-1", None, chat("a"), params),
        generation_key("echo", "echo-1", "runs/x", chat("a"), params),
    }
    stored = {k for (k,) in store.con.execute("SELECT key FROM generations").fetchall()}
    assert keys <= stored and len(stored) == 3


def test_cache_survives_reopening_the_store(tmp_path):
    from curate.store.store import Store

    path = tmp_path / "s.duckdb"
    with Store(path) as s:
        CachedGenerator(Echo(), s).generate([chat("x")], SamplingParams())
    echo = Echo()
    with Store(path) as s:
        out = CachedGenerator(echo, s).generate([chat("x")], SamplingParams())
    assert out[0].cached and out[0].text == "X" and echo.asked == []
