"""Seconds per step of ``train.run`` vs a plain TRL script with the identical configuration.

Both train the same LoRA on SmolLM2-135M-Instruct over the same generated records, in the same
process, alternating (tunesmith, plain, tunesmith, plain, ...) so machine load hits both alike;
the medians are compared. The timed span is ``trainer.train()`` in both (tunesmith's callbacks
— metrics file, watchdog, stop check, progress events — run inside it); tunesmith's end-to-end
wall time (pre-flight, data conversion, card) is printed beside it.

    .venv/bin/python bench/train_overhead.py [--steps 12] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

ITEMS = ["phone", "laptop", "blender", "jacket", "novel", "headset", "backpack", "kettle"]
WORDS = {"excellent": "positive", "reliable": "positive", "flimsy": "negative", "awful": "negative"}


def records():
    """64 SFT records teaching a fixed JSON answer (as the habit test does)."""
    from curate.records import Message, Record, Source, content_key, record_id, to_frame

    out = []
    for i, (item, word) in enumerate((it, w) for it in ITEMS for w in WORDS for _ in range(2)):
        p = [Message(role="user", content=f"Classify this review: The {item} is {word}. ({i})")]
        c = [Message(role="assistant", content=json.dumps({"sentiment": WORDS[word]}))]
        out.append(
            Record(
                id=record_id(content_key("sft", p, c)),
                kind="sft",
                prompt=p,
                completion=c,
                source=Source(file="bench", row=i),
            )
        )
    return to_frame(out)


def tunesmith_run(frame, model_dir: str, steps: int, out: Path) -> tuple[float, float]:
    """(seconds in trainer.train(), end-to-end seconds) for ``train.run``."""
    import train

    config = train.TrainConfig(
        base_model=model_dir,
        rank=8,
        alpha=16,
        dropout=0.05,
        target_modules=["q_proj", "v_proj"],
        learning_rate=2e-4,
        max_steps=steps,
        batch_size=4,
        max_length=96,
        warmup=0.0,
        eval_fraction=0.0,
        save_every=10_000,
        log_every=1,
        seed=42,
        output_dir=str(out),
        resume=False,
    )
    t0 = time.perf_counter()
    result = train.run(frame, config)
    return result.seconds, time.perf_counter() - t0


def plain_trl_run(frame, model_dir: str, steps: int, out: Path) -> float:
    """Seconds in trainer.train() for the same configuration written directly against TRL."""
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    rows = [
        {"prompt": r["prompt"], "completion": r["completion"]} for r in frame.iter_rows(named=True)
    ]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    args = SFTConfig(
        output_dir=str(out),
        learning_rate=2e-4,
        max_steps=steps,
        per_device_train_batch_size=4,
        gradient_accumulation_steps=1,
        warmup_steps=0.0,
        lr_scheduler_type="linear",
        max_grad_norm=1.0,
        seed=42,
        max_length=96,
        logging_steps=1,
        save_steps=10_000,
        save_total_limit=2,
        eval_strategy="no",
        bf16=False,
        fp16=False,
        gradient_checkpointing=False,
        use_cpu=True,
        model_init_kwargs={"dtype": "float32"},
        report_to="none",
        disable_tqdm=True,
    )
    lora = LoraConfig(
        r=8,
        lora_alpha=16,
        lora_dropout=0.05,
        target_modules=["q_proj", "v_proj"],
        task_type="CAUSAL_LM",
    )
    trainer = SFTTrainer(
        model=model_dir,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=lora,
    )
    t0 = time.perf_counter()
    trainer.train()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import torch

    from curate.models.resolve import resolve_model

    model_dir = resolve_model("smollm2-135m")
    frame = records()
    ours, plain, e2e = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            seconds, wall = tunesmith_run(frame, model_dir, args.steps, Path(tmp) / f"ts{i}")
            ours.append(seconds / args.steps)
            e2e.append(wall)
            plain.append(
                plain_trl_run(frame, model_dir, args.steps, Path(tmp) / f"trl{i}") / args.steps
            )
            print(f"repeat {i}: tunesmith {ours[-1]:.3f} s/step, plain TRL {plain[-1]:.3f} s/step")
    a, b = statistics.median(ours), statistics.median(plain)
    print(
        f"\nSmolLM2-135M, LoRA r=8 q/v, batch 4, max_length 96, {args.steps} steps, "
        f"{args.repeats} alternating repeats, torch threads {torch.get_num_threads()}"
    )
    print(f"{'':<22}{'s/step (median)':>16}")
    print(f"{'plain TRL script':<22}{b:>16.3f}")
    print(f"{'tunesmith train.run':<22}{a:>16.3f}")
    print(f"overhead: {100 * (a / b - 1):+.1f}% (target < 5%)")
    print(
        f"tunesmith end-to-end wall (pre-flight, data, model load, card): "
        f"median {statistics.median(e2e):.1f} s"
    )


if __name__ == "__main__":
    main()
