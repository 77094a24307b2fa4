"""Pre-flight checks against the real SmolLM2 tokenizer: templates, loss mask, lengths, hardware."""

from __future__ import annotations

import pytest

import train
from curate.errors import ConfigError, DatasetFormatError
from curate.records import Message, Record, Source, content_key, record_id, to_frame

# Needs the converted SmolLM2 folder (its tokenizer): minutes on a fresh machine, seconds after.
pytestmark = pytest.mark.slow

# ChatML like SmolLM2's, except that the last assistant turn is not closed: rendered for
# training, its <|im_end|> is missing, so the loss mask cannot contain the end-of-turn token.
UNCLOSED_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] }}"
    "{% if not (loop.last and message['role'] == 'assistant') %}{{ '<|im_end|>\\n' }}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# A template that refuses system messages, as Gemma 2's does.
NO_SYSTEM_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def _record(row: int, prompt: list[Message], answer: str, kind: str = "sft") -> Record:
    completion = [Message(role="assistant", content=answer)]
    if kind == "sft":
        key = content_key("sft", prompt, completion)
        return Record(
            id=record_id(key),
            kind="sft",
            prompt=prompt,
            completion=completion,
            source=Source(file="t", row=row),
        )
    rejected = [Message(role="assistant", content="no")]
    key = content_key("preference", prompt, None, completion, rejected)
    return Record(
        id=record_id(key),
        kind="preference",
        prompt=prompt,
        chosen=completion,
        rejected=rejected,
        source=Source(file="t", row=row),
    )


@pytest.fixture(scope="module")
def frame():
    return to_frame(
        [
            _record(i, [Message(role="user", content=f"Say hi number {i}.")], f"Hi {i}!")
            for i in range(12)
        ]
    )


def _config(path: str, tmp_path, **kw) -> train.TrainConfig:
    return train.TrainConfig(base_model=path, output_dir=str(tmp_path / "out"), **kw)


def test_a_good_template_passes_and_shows_the_mask(frame, smollm2_path, tmp_path):
    report = train.preflight(frame, _config(smollm2_path, tmp_path, max_length=128))
    assert report.ok and report.missing_end_of_turn == 0 and report.fully_masked == 0
    assert report.end_of_turn == "<|im_end|>"
    # The debug view: the answer and its end-of-turn token are inside the trained span.
    trained = report.debug_view.split("⟦", 1)[1]
    assert "Hi 0!" in trained and "<|im_end|>" in trained
    assert "Say hi" not in trained
    assert report.n_train + report.n_eval == 12 and report.estimated_steps >= 1
    assert report.estimated_memory_gb and 0.5 < report.estimated_memory_gb < 10


def test_template_whose_mask_excludes_end_of_turn_is_caught(frame, smollm2_path, tmp_path):
    template = tmp_path / "unclosed.jinja"
    template.write_text(UNCLOSED_TEMPLATE)
    config = _config(smollm2_path, tmp_path, chat_template=str(template))
    report = train.preflight(frame, config)
    assert not report.ok
    assert report.missing_end_of_turn == 12
    assert "end-of-turn" in report.errors[0] and "<|im_end|>" in report.errors[0]
    assert "<|im_end|>" not in report.debug_view.split("⟦", 1)[1]
    with pytest.raises(DatasetFormatError, match="loss mask excludes the end-of-turn"):
        train.run(frame, config)  # refused before any model is loaded


def test_template_that_cannot_render_an_example_is_reported(smollm2_path, tmp_path):
    system = Message(role="system", content="Be brief.")
    records = [_record(0, [Message(role="user", content="Hi")], "Hello")]
    records.append(_record(1, [system, Message(role="user", content="Hi")], "Hello"))
    template = tmp_path / "nosys.jinja"
    template.write_text(NO_SYSTEM_TEMPLATE)
    report = train.preflight(
        to_frame(records), _config(smollm2_path, tmp_path, chat_template=str(template))
    )
    assert report.template_failures == 1
    assert "System role not supported" in report.errors[0] and records[1].id in report.errors[0]


def test_sequences_over_max_length_are_counted(smollm2_path, tmp_path):
    long_answer = " ".join(["word"] * 60)
    records = [_record(i, [Message(role="user", content=f"Q{i}")], long_answer) for i in range(3)]
    records.append(_record(3, [Message(role="user", content="Q3")], "short"))
    report = train.preflight(to_frame(records), _config(smollm2_path, tmp_path, max_length=48))
    assert report.over_max_length == 3
    assert report.truncation_drops_end_of_turn == 3
    assert report.ok and "exceed max_length=48" in report.warnings[0]


def test_wrong_kind_for_the_method_is_a_clear_error(frame, smollm2_path, tmp_path):
    with pytest.raises(DatasetFormatError, match="prompt \\+ chosen \\+ rejected"):
        train.preflight(frame, _config(smollm2_path, tmp_path, method="dpo"))


def test_mixed_kinds_are_excluded_and_counted(frame, smollm2_path, tmp_path):
    import polars as pl

    pref = to_frame([_record(99, [Message(role="user", content="Pick")], "yes", kind="preference")])
    report = train.preflight(pl.concat([frame, pref]), _config(smollm2_path, tmp_path))
    assert report.excluded == {"wrong_kind_preference": 1}
    assert report.n_train + report.n_eval == 12


def test_qlora_without_cuda_says_so(frame, smollm2_path, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="needs a CUDA GPU"):
        train.preflight(frame, _config(smollm2_path, tmp_path, adapter="qlora"))
