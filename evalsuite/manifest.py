"""A run's manifest: what exactly was evaluated, as hashes, so two runs can be checked comparable.

Two runs compare only when they asked the same questions the same way: the same suite, the same
prompts, the same generation parameters, the same judge and probe texts. Those differences block
a comparison (unless forced); a different model, adapter, chat template, backend or library
version is reported but expected (it is what is being compared, or a known source of drift).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

LIBRARIES = ("tunesmith", "torch", "transformers", "peft", "vllm", "scipy", "numpy")
"""Libraries whose versions a manifest records (those installed)."""

BLOCKING = ("suite_sha256", "prompts_sha256", "params", "judge", "probe_sha256")
"""Manifest fields that must agree for a comparison to be meaningful."""


class Manifest(BaseModel):
    """Hashes and settings that identify a run."""

    model_config = ConfigDict(frozen=True)

    suite_name: str
    """The suite's name."""
    suite_sha256: str
    """Hash of the suite's cases (messages, references, tags, checks)."""
    n_cases: int
    """Cases in the suite."""
    prompts_sha256: str
    """Hash of the input messages alone, in case order."""
    chat_template_sha256: str | None
    """Hash of the chat template the model (or the adapter's tokenizer) applies; None if unknown."""
    model: str
    """The model as named by the user."""
    model_sha256: str | None
    """Hash of the model folder's files (None for a served model)."""
    adapter: str | None = None
    """The adapter folder, or None for the base model."""
    adapter_sha256: str | None = None
    """Hash of the adapter folder's files."""
    backend: str
    """The generator backend."""
    params: dict[str, Any]
    """The sampling parameters (greedy for gating)."""
    judge: dict[str, Any] | None = None
    """The rubric judge's config, where the suite has judge checks."""
    probe_sha256: str | None = None
    """Hash of the perplexity probe texts, or None when perplexity was not computed."""
    libraries: dict[str, str] = Field(default_factory=dict)
    """Installed versions of the libraries that shape the outputs."""
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    """When the run started (UTC)."""


class ManifestDiff(BaseModel):
    """One field where two manifests differ."""

    model_config = ConfigDict(frozen=True)

    field: str
    """The manifest field."""
    base: Any
    """Its value in the base run."""
    tuned: Any
    """Its value in the tuned run."""
    blocking: bool
    """True when the difference makes the runs incomparable."""


def sha256_text(text: str) -> str:
    """sha256 hex of a string."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_json(value: Any) -> str:
    """sha256 hex of a value's canonical JSON."""
    return sha256_text(json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")))


def folder_sha256(path: str | Path) -> str | None:
    """Hash of every file under a folder (relative names and contents); None if not a folder."""
    folder = Path(path)
    if not folder.is_dir():
        return None
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    digest = hashlib.sha256()
    for p in files:
        st = p.stat()
        digest.update(p.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(_file_sha256(str(p), st.st_size, st.st_mtime_ns).encode())
    return digest.hexdigest()


@lru_cache(maxsize=256)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    # Keyed by size and mtime too: a rewritten file is hashed again, an unchanged one once.
    # Large files (model weights) are remembered on disk as well, so each run does not re-read
    # half a gigabyte to learn what it learned last time.
    key = f"{path}|{size}|{mtime_ns}"
    book = _hash_book() if size >= _REMEMBER_OVER else {}
    if key in book:
        return book[key]
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    if size >= _REMEMBER_OVER:
        _remember(key, digest.hexdigest())
    return digest.hexdigest()


_REMEMBER_OVER = 16 << 20


def _hash_file() -> Path:
    from curate import cache_dir

    return cache_dir() / "file_sha256.json"


def _hash_book() -> dict[str, str]:
    try:
        return dict(json.loads(_hash_file().read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def _remember(key: str, value: str) -> None:
    book = _hash_book()
    book[key] = value
    target = _hash_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(book, indent=0), encoding="utf-8")
        tmp.replace(target)  # atomic: concurrent runs never read half a file
    except OSError:
        pass  # a read-only cache only costs a re-hash next time


def chat_template_sha256(*folders: str | Path | None) -> str | None:
    """Hash of the chat template found in the first folder that has one (adapter before model)."""
    for folder in folders:
        if folder is None or not Path(folder).is_dir():
            continue
        jinja = Path(folder) / "chat_template.jinja"
        if jinja.is_file():
            return sha256_text(jinja.read_text(encoding="utf-8"))
        config = Path(folder) / "tokenizer_config.json"
        if config.is_file():
            template = json.loads(config.read_text(encoding="utf-8")).get("chat_template")
            if template:
                return sha256_json(template)
    return None


def library_versions() -> dict[str, str]:
    """Versions of the installed libraries in ``LIBRARIES`` (read from metadata, not imported)."""
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def local_folder(model: str) -> str | None:
    """The model's local folder when it has one (aliases resolve; served names do not)."""
    from curate import ALIASES, resolve_model

    if model in ALIASES or os.path.isdir(os.path.expanduser(model)):
        return resolve_model(model)
    return None


def diff_manifests(base: Manifest, tuned: Manifest) -> list[ManifestDiff]:
    """Fields where two manifests differ; ``blocking`` marks those that forbid comparing."""
    skip = {"created_at", "n_cases", "suite_name"}
    a, b = base.model_dump(mode="json"), tuned.model_dump(mode="json")
    return [
        ManifestDiff(field=k, base=a[k], tuned=b[k], blocking=k in BLOCKING)
        for k in a
        if k not in skip and a[k] != b[k]
    ]
