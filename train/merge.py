"""Merge a LoRA adapter into its base (``merge_and_unload``) and prove the merge changed nothing.

Parity check: greedy outputs of the merged model on a few prompts must equal those of the adapter
on its base, and the largest difference between their log-probabilities of the generated tokens
is reported (float rounding only, for a correct merge).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field

from curate import InputError

DEFAULT_PROMPTS = (
    "Give me three tips for writing clear commit messages.",
    "What is the capital of Australia?",
    "Summarise in one sentence: the cat sat on the mat because it was warm.",
    "Write a JSON object describing a book with a title and an author.",
)
"""Prompts for the parity check when the caller gives none."""


class PromptParity(BaseModel):
    """One prompt's outputs before and after the merge."""

    prompt: str
    """The user message."""
    adapter_text: str
    """Greedy output of the adapter on its base."""
    merged_text: str
    """Greedy output of the merged model."""
    same: bool
    """Whether the generated token ids are identical."""
    max_logprob_diff: float
    """Largest |Δ log p| over the generated tokens, adapter vs merged."""


class MergeResult(BaseModel):
    """A merged model and its parity evidence."""

    output_dir: str
    """Where the merged model and tokenizer were saved."""
    base_model_path: str
    """The base the adapter was trained on."""
    parity_ok: bool
    """True when every prompt's greedy output is identical."""
    max_logprob_diff: float
    """Largest |Δ log p| over all prompts' generated tokens."""
    prompts: list[PromptParity] = Field(default_factory=list)
    """Per-prompt evidence."""


def _generate(model, tokenizer, prompt: str, max_new_tokens: int):
    import torch

    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )["input_ids"]
    with torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
        )
    return out[0], ids.shape[1]


def _token_logprobs(model, sequence, start: int):
    """Log-probabilities the model gives the tokens of ``sequence`` from ``start`` on."""
    import torch

    with torch.no_grad():
        logits = model(input_ids=sequence.unsqueeze(0)).logits[0].float()
    logprobs = torch.log_softmax(logits[start - 1 : -1], dim=-1)
    return logprobs.gather(1, sequence[start:].unsqueeze(1)).squeeze(1)


def merge(
    adapter_dir: str | Path,
    out_dir: str | Path,
    prompts: list[str] | None = None,
    max_new_tokens: int = 24,
) -> MergeResult:
    """Merge the adapter in ``adapter_dir`` into its base and save the result to ``out_dir``.

    Raises:
        InputError: ``adapter_dir`` is not a LoRA adapter folder.
    """
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter_dir, out_dir = Path(adapter_dir), Path(out_dir)
    config_path = adapter_dir / "adapter_config.json"
    if not config_path.is_file():
        raise InputError(f"{adapter_dir}: no adapter_config.json (not a LoRA adapter folder)")
    base_path = json.loads(config_path.read_text())["base_model_name_or_path"]
    tokenizer = AutoTokenizer.from_pretrained(adapter_dir)
    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32)
    model = PeftModel.from_pretrained(base, adapter_dir).eval()

    before = []
    for prompt in prompts or DEFAULT_PROMPTS:
        sequence, start = _generate(model, tokenizer, prompt, max_new_tokens)
        before.append((prompt, sequence, start, _token_logprobs(model, sequence, start)))

    merged = model.merge_and_unload().eval()
    checks = []
    for prompt, sequence, start, logprobs in before:
        merged_sequence, _ = _generate(merged, tokenizer, prompt, max_new_tokens)
        diff = (_token_logprobs(merged, sequence, start) - logprobs).abs()
        checks.append(
            PromptParity(
                prompt=prompt,
                adapter_text=tokenizer.decode(sequence[start:], skip_special_tokens=True),
                merged_text=tokenizer.decode(merged_sequence[start:], skip_special_tokens=True),
                same=torch.equal(sequence, merged_sequence),
                max_logprob_diff=float(diff.max()) if diff.numel() else 0.0,
            )
        )

    merged.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    result = MergeResult(
        output_dir=str(out_dir),
        base_model_path=base_path,
        parity_ok=all(c.same for c in checks),
        max_logprob_diff=max(c.max_logprob_diff for c in checks),
        prompts=checks,
    )
    (out_dir / "merge_parity.json").write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return result
