"""Perplexity on a general probe text set, from the model's own logits, to catch forgetting.

A tuned adapter that taught a habit should leave general language modelling roughly where it
was; a large rise in the probe texts' negative log-likelihood says the tuning damaged the model.
Per-text scores are kept so base and tuned can be compared pairwise like any other metric.
"""

from __future__ import annotations

import json
import math
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from curate import InputError, NotFoundError
from evalsuite.manifest import sha256_json

# tunesmith_data installs as a folder (never zipped), so its resources are plain files.
DEFAULT_PROBE = Path(str(files("tunesmith_data") / "suites" / "probe_texts.txt"))
"""The shipped probe set: short general-knowledge paragraphs, one per line."""


class ProbeScore(BaseModel):
    """One probe text's score."""

    model_config = ConfigDict(frozen=True)

    id: str
    """The text's position in the probe set (``p0``, ``p1``, ...)."""
    nll: float
    """Mean negative log-likelihood per predicted token (natural log)."""
    n_tokens: int
    """Predicted tokens."""


class PerplexityResult(BaseModel):
    """Perplexity over the probe set."""

    model_config = ConfigDict(frozen=True)

    probe_sha256: str
    """Hash of the probe texts."""
    perplexity: float
    """exp(total NLL / total tokens) over every text."""
    texts: list[ProbeScore]
    """Per text, in probe order."""


def load_probe(path: str | Path | None = None) -> list[str]:
    """Probe texts: a ``.txt`` file (one per non-empty line) or JSONL (``text`` field).

    Raises:
        NotFoundError: no such file.
        InputError: the file holds no texts.
    """
    path = Path(path) if path else DEFAULT_PROBE
    if not path.is_file():
        raise NotFoundError(f"probe file {path} does not exist")
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    texts = [json.loads(ln)["text"] for ln in lines] if path.suffix == ".jsonl" else lines
    if not texts:
        raise InputError(f"probe file {path} holds no texts")
    return texts


def perplexity(
    model: str,
    texts: list[str],
    *,
    adapter: str | None = None,
    max_length: int = 512,
    batch_size: int = 8,
) -> PerplexityResult:
    """Per-text negative log-likelihood of ``texts`` under the model (with ``adapter`` on).

    Args:
        model: Alias, folder or hub id (loaded once per process and shared with generation).
        texts: The probe texts.
        adapter: A LoRA adapter folder, or None for the base model.
        max_length: Tokens per text at most (longer texts are cut).
        batch_size: Texts scored together.
    """
    import torch

    from curate import load_causal_lm

    lm = load_causal_lm(model)
    tok = lm.tokenizer
    scores: list[ProbeScore] = []
    for start in range(0, len(texts), batch_size):
        batch = texts[start : start + batch_size]
        enc = tok(
            batch, return_tensors="pt", padding=True, truncation=True, max_length=max_length
        ).to(lm.device)
        with lm.active(adapter) as m, torch.inference_mode():
            logits = m(**enc).logits.float()
        # Token t is predicted from the logits at t-1; padding (left or right) is masked out.
        logp = torch.log_softmax(logits[:, :-1], dim=-1)
        target = enc["input_ids"][:, 1:]
        mask = enc["attention_mask"][:, 1:] * enc["attention_mask"][:, :-1]
        nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1) * mask
        for i in range(len(batch)):
            n = int(mask[i].sum())
            scores.append(
                ProbeScore(id=f"p{start + i}", n_tokens=n, nll=float(nll[i].sum()) / max(n, 1))
            )
    total = sum(s.nll * s.n_tokens for s in scores)
    tokens = sum(s.n_tokens for s in scores)
    return PerplexityResult(
        probe_sha256=sha256_json(texts), texts=scores, perplexity=math.exp(total / max(tokens, 1))
    )
