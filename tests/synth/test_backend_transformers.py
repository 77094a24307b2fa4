"""The transformers backend and the generation cache, on the real SmolLM2 and a real store."""

from __future__ import annotations

import pytest

from curate.errors import InputError, NotFoundError
from curate.models.backends import get_generator
from curate.models.generation import SamplingParams
from curate.records import Message

PROMPTS = [
    "What is the capital of France?",
    "Name three primary colors.",
    "Give one tip for staying healthy.",
    "What is 2 + 2?",
]


def chats(texts: list[str] = PROMPTS) -> list[list[Message]]:
    return [[Message(role="user", content=t)] for t in texts]


GREEDY = SamplingParams(max_tokens=16)

pytestmark = pytest.mark.slow


def test_batched_greedy_matches_one_at_a_time(smol, smollm2_path):
    batched = smol.generate(chats(), GREEDY)
    single = get_generator("transformers", smollm2_path, batch_size=1).generate(chats(), GREEDY)
    assert [g.text for g in batched] == [g.text for g in single]
    assert "Paris" in batched[0].text
    assert all(g.text.strip() and not g.cached for g in batched)


def test_finish_reason_and_stop_strings(smol):
    short = smol.generate(chats(PROMPTS[2:3]), SamplingParams(max_tokens=3))[0]
    assert short.finish_reason == "length"
    full = smol.generate(chats(PROMPTS[:1]), SamplingParams(max_tokens=40))[0]
    assert full.finish_reason == "stop"  # the model ended its turn
    assert "Paris" in full.text
    cut = smol.generate(chats(PROMPTS[:1]), SamplingParams(max_tokens=40, stop=("Paris",)))[0]
    assert cut.finish_reason == "stop"
    assert "Paris" not in cut.text
    assert full.text.startswith(cut.text)


def test_sampling_repeats_with_the_same_seed(smol):
    params = SamplingParams(max_tokens=12, temperature=1.0, seed=7)
    first = smol.generate(chats(PROMPTS[1:3]), params)
    again = smol.generate(chats(PROMPTS[1:3]), params)
    other = smol.generate(chats(PROMPTS[1:3]), params.model_copy(update={"seed": 8}))
    assert [g.text for g in first] == [g.text for g in again]
    assert [g.text for g in first] != [g.text for g in other]


def test_adapter_is_toggled_on_the_shared_base(smol, lora_adapter):
    base = smol.generate(chats(PROMPTS[:2]), GREEDY)
    tuned = smol.generate(chats(PROMPTS[:2]), GREEDY, adapter=lora_adapter)
    after = smol.generate(chats(PROMPTS[:2]), GREEDY)
    assert [g.text for g in tuned] != [g.text for g in base]
    assert [g.text for g in after] == [g.text for g in base]  # the adapter is off again


def test_missing_adapter_is_a_clear_error(smol, tmp_path):
    with pytest.raises(NotFoundError, match=r"adapter_config\.json"):
        smol.generate(chats(PROMPTS[:1]), GREEDY, adapter=str(tmp_path))


def test_cache_answers_a_rerun_from_the_store(store, smollm2_path):
    gen = get_generator("transformers", smollm2_path, store=store)
    first = gen.generate(chats(), GREEDY)
    assert not any(g.cached for g in first)
    (rows,) = store.con.execute("SELECT count(*) FROM generations").fetchone()
    assert rows == len(PROMPTS)
    again = gen.generate(chats(), GREEDY)
    assert all(g.cached for g in again)
    assert [g.text for g in again] == [g.text for g in first]
    # Another parameter is another request: generated, not served stale.
    other = gen.generate(chats(PROMPTS[:1]), SamplingParams(max_tokens=5))
    assert not other[0].cached
    assert store.con.execute("SELECT count(*) FROM generations").fetchone()[0] == rows + 1


def test_unknown_backend_and_misplaced_base_url():
    with pytest.raises(InputError, match="unknown backend"):
        get_generator("llamacpp", "m")
    with pytest.raises(InputError, match="base_url"):
        get_generator("transformers", "m", base_url="http://127.0.0.1:1/v1")
