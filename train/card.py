"""The training card: what was trained, on what, how, and how it went (JSON + Markdown)."""

from __future__ import annotations

import platform
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

PACKAGES = ("tunesmith", "torch", "transformers", "trl", "peft", "accelerate", "datasets")


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape a run."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


class TrainingCard(BaseModel):
    """The record of one training run, written beside its adapter."""

    base_model: str
    """The model as named in the config (alias, folder or hub id)."""
    base_model_path: str
    """Where it was loaded from."""
    method: str
    """``sft`` or ``dpo``."""
    adapter: str
    """``lora``, ``qlora`` or ``full``."""
    status: str
    """``completed``, ``stopped`` (by the caller) or ``diverged`` (by the watchdog)."""
    stop_reason: str | None = None
    """Why the run ended early, if it did."""
    config: dict[str, Any]
    """The full TrainConfig, presets applied."""
    data_source: str
    """The dataset file, or ``frame``."""
    data_sha256: str
    """Hash of the trained records' ids (content hashes), in order."""
    n_train: int
    """Records in the training split."""
    n_eval: int
    """Records held out."""
    excluded: dict[str, int] = Field(default_factory=dict)
    """Records left out, by reason."""
    steps: int
    """Optimizer steps done (in total, across resumes)."""
    resumed_from_step: int | None = None
    """The checkpoint step this session resumed from."""
    metrics: dict[str, float] = Field(default_factory=dict)
    """Headline figures: first/last train loss, eval loss, tokens/s, peak memory, s/step."""
    estimated_memory_gb: float | None = None
    """The pre-flight's estimate, to compare with the measured peak."""
    started_at: str
    """ISO time the session started."""
    seconds: float
    """Wall time of this session's training loop."""
    device: str
    """``cpu`` or ``cuda``."""
    versions: dict[str, str] = Field(default_factory=versions)
    """Python and library versions."""

    def write(self, folder: Path) -> tuple[Path, Path]:
        """Write ``training_card.json`` and ``training_card.md`` into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        json_path = folder / "training_card.json"
        json_path.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        md_path = folder / "training_card.md"
        md_path.write_text(self.markdown(), encoding="utf-8")
        return json_path, md_path

    def markdown(self) -> str:
        """The card as a short Markdown document."""
        lines = [
            f"# Training card: {self.method.upper()} {self.adapter} on {self.base_model}",
            "",
            f"- **Status**: {self.status}" + (f" — {self.stop_reason}" if self.stop_reason else ""),
            f"- **Base model**: `{self.base_model}` (`{self.base_model_path}`)",
            f"- **Data**: `{self.data_source}`, sha256 `{self.data_sha256[:16]}…`, "
            f"{self.n_train} train / {self.n_eval} held out"
            + (f"; left out {self.excluded}" if self.excluded else ""),
            f"- **Steps**: {self.steps}"
            + (f" (resumed from {self.resumed_from_step})" if self.resumed_from_step else ""),
            f"- **Started**: {self.started_at}, {self.seconds:.1f} s on {self.device}",
            "",
            "## Metrics",
            "",
            "| metric | value |",
            "|---|---|",
            *(f"| {k} | {v:.4g} |" for k, v in self.metrics.items()),
            "",
            "## Config",
            "",
            "| field | value |",
            "|---|---|",
            *(f"| {k} | `{v}` |" for k, v in self.config.items()),
            "",
            "## Versions",
            "",
            ", ".join(f"{k} {v}" for k, v in self.versions.items()),
            "",
        ]
        return "\n".join(lines)


def now_iso() -> str:
    """The current local time, ISO 8601 with offset."""
    return datetime.now().astimezone().isoformat(timespec="seconds")
