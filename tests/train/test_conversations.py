"""Whole conversations in training, on the real SmolLM2: every assistant turn is trained (and
nothing else), tool calls reach the chat template or are refused naming the model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import train
from curate.errors import DatasetFormatError
from curate.records import Message, Record, Source, ToolCall, content_key, record_id, to_frame

# Needs the converted SmolLM2 folder (its tokenizer, and its weights for the trainer).
pytestmark = pytest.mark.slow

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city today.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
ARGUMENTS = '{"city":"Paris"}'  # compact, as a user's file might hold it


def user(text: str) -> Message:
    return Message(role="user", content=text)


def assistant(text: str) -> Message:
    return Message(role="assistant", content=text)


def sft(row: int, messages: list[Message], tools: list[dict] | None = None) -> Record:
    """An SFT record stored as the readers store it: split at its last assistant turn."""
    prompt, completion = messages[:-1], messages[-1:]
    return Record(
        id=record_id(content_key("sft", prompt, completion, tools=tools)),
        kind="sft",
        prompt=prompt,
        completion=completion,
        tools=tools,
        source=Source(file="t", row=row),
    )


THREE_TURNS = [
    user("What is the capital of France?"),
    assistant("Paris is the capital of France."),
    user("And the capital of Spain?"),
    assistant("Madrid is the capital of Spain."),
    user("And the capital of Italy?"),
    assistant("Rome is the capital of Italy."),
]


def tool_conversation(city: str = "Paris") -> list[Message]:
    call = ToolCall(id="call_1", name="get_weather", arguments=ARGUMENTS.replace("Paris", city))
    return [
        user(f"What is the weather in {city}?"),
        Message(role="assistant", content=None, tool_calls=[call]),
        Message(role="tool", content="sunny, 24 C", tool_call_id="call_1", name="get_weather"),
        assistant(f"It is sunny in {city}, 24 C."),
    ]


def _config(path: str, tmp_path, **kw) -> train.TrainConfig:
    return train.TrainConfig(
        base_model=path, output_dir=str(tmp_path / "out"), eval_fraction=0.0, **kw
    )


def test_three_turn_conversation_trains_every_assistant_turn(smollm2_path, tmp_path):
    from train.data import prepare, to_hf
    from train.preflight import load_tokenizer
    from train.run import build_trainer, trainer_args

    config = _config(smollm2_path, tmp_path, rank=4, target_modules=["q_proj"], max_length=256)
    data = prepare(to_frame([sft(0, THREE_TURNS)]), "sft")
    tokenizer = load_tokenizer(smollm2_path)
    args = trainer_args(config, tmp_path / "ckpt", "cpu", has_eval=False)
    trainer = build_trainer(
        config, smollm2_path, tokenizer, to_hf(data.rows, "sft", tokenizer), None, args, []
    )
    # The labels TRL built and will train on.
    example = trainer.train_dataset[0]
    trained = [t for t in example["labels"] if t != -100]
    text = tokenizer.decode(trained)
    for turn in (THREE_TURNS[1], THREE_TURNS[3], THREE_TURNS[5]):
        assert turn.content in text
    assert text.count("<|im_end|>") == 3  # each turn's end-of-turn token
    for turn in (THREE_TURNS[0], THREE_TURNS[2], THREE_TURNS[4]):
        assert turn.content not in text
    assert "SmolLM" not in text and "user" not in text  # no system text, no role header
    # Only the last turn was trained before: the mask must cover far more than its tokens.
    last = tokenizer(THREE_TURNS[5].content + "<|im_end|>\n", add_special_tokens=False)
    assert len(trained) > 2 * len(last["input_ids"])


def test_preflight_shows_every_trained_turn(smollm2_path, tmp_path):
    report = train.preflight(to_frame([sft(0, THREE_TURNS)]), _config(smollm2_path, tmp_path))
    assert report.ok and report.turn_not_trained == 0 and report.missing_end_of_turn == 0
    spans = [part.split("⟧", 1)[0] for part in report.debug_view.split("⟦")[1:]]
    assert spans == [f"{THREE_TURNS[i].content}<|im_end|>\n" for i in (1, 3, 5)]


def test_tool_calls_are_refused_for_smollm2_naming_the_model(smollm2_path, tmp_path):
    records = [sft(0, THREE_TURNS), sft(1, tool_conversation(), TOOLS)]
    config = _config(smollm2_path, tmp_path)
    report = train.preflight(to_frame(records), config)
    assert not report.ok and report.tools_not_rendered == 1
    error = report.errors[0]
    assert smollm2_path in error and "does not render tool calls" in error
    assert records[1].id in error and 'chat_template = "smollm2-tools"' in error
    with pytest.raises(DatasetFormatError, match="does not render tool calls"):
        train.run(to_frame(records), config)  # refused before any model is loaded


def test_tool_definitions_alone_are_refused_too(smollm2_path, tmp_path):
    record = sft(0, [user("Hi"), assistant("Hello!")], TOOLS)
    report = train.preflight(to_frame([record]), _config(smollm2_path, tmp_path))
    assert report.tools_not_rendered == 1
    assert "the tool definition 'get_weather'" in report.errors[0]


def test_tool_calls_render_through_the_smollm2_tools_template(smollm2_path, tmp_path):
    from train.chat import sequences
    from train.data import prepare
    from train.preflight import load_tokenizer

    frame = to_frame([sft(0, tool_conversation(), TOOLS)])
    config = _config(smollm2_path, tmp_path, chat_template="smollm2-tools")
    report = train.preflight(frame, config)
    assert report.ok and report.tools_not_rendered == 0, report.errors

    data = prepare(frame, "sft")
    call = data.rows[0]["messages"][1]["tool_calls"][0]
    assert call["function"] == {"name": "get_weather", "arguments": {"city": "Paris"}}
    tokenizer = load_tokenizer(smollm2_path, "smollm2-tools")
    seq = sequences(tokenizer, data.rows[0], ())[0]
    assert '"name": "get_weather"' in seq.text and '"arguments": {"city": "Paris"}' in seq.text
    assert '"description": "The weather in a city today."' in seq.text  # the tools reach it
    calling, answering = (tokenizer.decode(seq.ids[s:e]) for (s, e), _ in seq.segments)
    assert calling.startswith("<tool_call>\n") and "get_weather" in calling
    assert calling.endswith("</tool_call><|im_end|>\n")
    assert answering == "It is sunny in Paris, 24 C.<|im_end|>\n"
    assert "sunny, 24 C" not in calling  # the tool result is context, not trained
    # The stored arguments stay as given; only the render parses them.
    assert frame["prompt"][0][1]["tool_calls"][0]["arguments"] == ARGUMENTS


def test_smollm2_tools_template_renders_plain_conversations_as_smollm2_does(smollm2_path):
    from train.preflight import load_tokenizer
    from train.templates import SMOLLM2_TOOLS

    tokenizer = load_tokenizer(smollm2_path)
    system = [{"role": "system", "content": "Be brief."}]
    chats = [[m.to_chat() for m in THREE_TURNS], system + [m.to_chat() for m in THREE_TURNS[:3]]]
    for chat in chats:
        for gen in (False, True):
            ours = tokenizer.apply_chat_template(
                chat, tokenize=False, add_generation_prompt=gen, chat_template=SMOLLM2_TOOLS
            )
            assert ours == tokenizer.apply_chat_template(
                chat, tokenize=False, add_generation_prompt=gen
            )


def test_a_template_that_rewrites_earlier_turns_is_reported(smollm2_path, tmp_path):
    # Like Qwen3's, which strips reasoning from earlier assistant turns: no exact mask exists.
    template = tmp_path / "rewrites.jinja"
    template.write_text(
        "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' }}"
        "{% if m['role'] == 'assistant' and not loop.last %}(earlier){% else %}"
        "{{ m['content'] }}{% endif %}{{ '<|im_end|>\\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
    )
    config = _config(smollm2_path, tmp_path, chat_template=str(template))
    report = train.preflight(to_frame([sft(0, THREE_TURNS)]), config)
    assert report.template_failures == 1 and "not prefix-preserving" in report.errors[0]


def test_short_sft_run_on_single_multi_turn_and_tool_call_records(smollm2_path, tmp_path):
    from safetensors.torch import load_file

    records = [sft(i, [user(f"Say hi number {i}."), assistant(f"Hi {i}!")]) for i in range(2)]
    records.append(sft(2, THREE_TURNS))
    records += [sft(3 + i, tool_conversation(c), TOOLS) for i, c in enumerate(["Paris", "Oslo"])]
    config = _config(
        smollm2_path,
        tmp_path,
        chat_template="smollm2-tools",
        rank=4,
        target_modules=["q_proj", "v_proj"],
        learning_rate=1e-3,
        batch_size=3,
        max_length=512,
        max_steps=2,
        warmup=0.0,
    )
    result = train.run(to_frame(records), config)
    assert result.status == "completed" and result.steps == 2
    assert result.preflight.n_train == 5 and result.preflight.tools_not_rendered == 0
    rows = [json.loads(x) for x in Path(result.metrics_path).read_text().splitlines()]
    losses = [r["loss"] for r in rows if "loss" in r]
    assert len(losses) == 2 and all(math.isfinite(x) and x > 0 for x in losses), losses
    weights = load_file(f"{result.adapter_dir}/adapter_model.safetensors")
    assert any(float(w.abs().sum()) > 0 for k, w in weights.items() if "lora_B" in k)
    # The saved tokenizer carries the template the run trained with, for serving.
    from transformers import AutoTokenizer

    saved = AutoTokenizer.from_pretrained(result.adapter_dir)
    assert "<tool_call>" in saved.chat_template
