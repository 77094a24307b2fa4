"""Train fixtures: a generated habit set (a fixed JSON answer format), one shared LoRA run on the
real SmolLM2, and greedy generation with the adapter on and off."""

from __future__ import annotations

import json
import random

import pytest

from curate.records import Message, Record, Source, content_key, record_id, to_frame

ITEMS = [
    "phone",
    "laptop",
    "blender",
    "jacket",
    "novel",
    "headset",
    "backpack",
    "kettle",
    "camera",
    "chair",
    "lamp",
    "watch",
    "printer",
    "tent",
    "bicycle",
    "guitar",
]
GOOD = ["excellent", "wonderful", "reliable", "delightful", "sturdy", "fantastic"]
BAD = ["terrible", "flimsy", "useless", "disappointing", "broken", "awful"]
HELD_OUT_ITEMS = ["toaster", "sofa", "keyboard", "umbrella", "drill"]
HELD_OUT_GOOD, HELD_OUT_BAD = ["superb", "lovely"], ["dreadful", "shoddy"]


def habit_prompt(item: str, word: str) -> str:
    """A review-classification request; the habit is answering with one fixed JSON object."""
    return f"Classify this review: The {item} I bought is {word}."


def habit_answer(word: str) -> str:
    """The fixed format the tuned model must learn."""
    sentiment = "positive" if word in GOOD + HELD_OUT_GOOD else "negative"
    return json.dumps({"sentiment": sentiment})


def follows_format(text: str) -> bool:
    """True when the output is exactly one JSON object ``{"sentiment": positive|negative}``."""
    try:
        value = json.loads(text.strip())
    except json.JSONDecodeError:
        return False
    return (
        isinstance(value, dict)
        and value.keys() == {"sentiment"}
        and value["sentiment"]
        in (
            "positive",
            "negative",
        )
    )


def sft_record(row: int, prompt: str, answer: str) -> Record:
    """One SFT record with a stable id."""
    p, c = [Message(role="user", content=prompt)], [Message(role="assistant", content=answer)]
    return Record(
        id=record_id(content_key("sft", p, c)),
        kind="sft",
        prompt=p,
        completion=c,
        source=Source(file="generated", row=row),
    )


@pytest.fixture(scope="session")
def follows():
    """The format check: ``follows(text) -> bool``."""
    return follows_format


@pytest.fixture(scope="session")
def habit_frame():
    """192 generated SFT records teaching the JSON format (no held-out item or word)."""
    rng = random.Random(0)
    pairs = [(item, word) for item in ITEMS for word in GOOD + BAD]
    rng.shuffle(pairs)
    records = [
        sft_record(i, habit_prompt(it, w), habit_answer(w)) for i, (it, w) in enumerate(pairs)
    ]
    return to_frame(records)


@pytest.fixture(scope="session")
def held_out_prompts() -> list[str]:
    """10 prompts with items and words the training set never shows."""
    words = HELD_OUT_GOOD + HELD_OUT_BAD
    return [habit_prompt(item, words[i % 4]) for i, item in enumerate(HELD_OUT_ITEMS * 2)]


@pytest.fixture(scope="session")
def habit_run(habit_frame, smollm2_path, tmp_path_factory):
    """One real LoRA SFT run on SmolLM2, shared by every test that needs a trained adapter."""
    import torch

    import train

    torch.manual_seed(0)
    config = train.TrainConfig(
        base_model=smollm2_path,
        rank=8,
        target_modules=["q_proj", "v_proj"],
        learning_rate=1e-3,
        max_steps=24,
        batch_size=4,
        max_length=96,
        eval_fraction=0.05,
        eval_every=12,
        save_every=12,
        output_dir=str(tmp_path_factory.mktemp("habit") / "run"),
    )
    events: list = []
    result = train.run(habit_frame, config, progress=events.append)
    return result, events


def _generate(model, tokenizer, prompts: list[str], max_new_tokens: int = 16) -> list[str]:
    import torch

    tokenizer.padding_side = "left"
    texts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
        )
        for p in prompts
    ]
    batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(
            **batch,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
    return tokenizer.batch_decode(out[:, batch["input_ids"].shape[1] :], skip_special_tokens=True)


@pytest.fixture(scope="session")
def generate():
    """Greedy batch generation: ``generate(model, tokenizer, prompts) -> texts``."""
    return _generate


@pytest.fixture(scope="session")
def adapter_model(habit_run, smollm2_path):
    """The trained adapter on its base (``with model.disable_adapter():`` gives the base)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    result, _ = habit_run
    base = AutoModelForCausalLM.from_pretrained(smollm2_path, dtype=torch.float32)
    model = PeftModel.from_pretrained(base, result.adapter_dir).eval()
    return model, AutoTokenizer.from_pretrained(result.adapter_dir)
