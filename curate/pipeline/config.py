"""``CurateConfig``: which curation steps run and with what parameters; loadable from TOML/JSON.

Each check owns its small config beside its code; this model only gathers them into sections,
so a file reads::

    [near]
    threshold = 0.8

    [severity]
    same_prompt_different_answer = "review"
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from curate.audit.contradictions import ContradictionsConfig
from curate.audit.diversity import DiversityConfig
from curate.audit.format_profile import FormatConfig
from curate.audit.verdict import VerdictConfig
from curate.audit.volatile import VolatileConfig
from curate.checks.leakage import LeakageCheck, LeakageConfig
from curate.checks.pii import PIICheck, PIIConfig
from curate.checks.quality import QualityCheck, QualityConfig
from curate.checks.tool_calls import ToolCallCheck, ToolCallConfig
from curate.dedup.exact import ExactConfig
from curate.dedup.near import NearConfig
from curate.dedup.semantic import SemanticConfig
from curate.errors import ConfigError
from curate.executors.config import ExecutorConfig
from curate.pipeline.step import Severity, SeverityOverrides


class CurateConfig(BaseModel):
    """The curation pipeline's configuration: one section per check, plus severity overrides."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    exact: ExactConfig = Field(default_factory=ExactConfig)
    """Exact duplicates (normalised whole record; same-prompt groups)."""
    near: NearConfig = Field(default_factory=NearConfig)
    """Near duplicates (MinHash LSH)."""
    semantic: SemanticConfig = Field(default_factory=SemanticConfig)
    """Semantic duplicates (embeddings, cosine threshold)."""

    quality: QualityConfig = Field(default_factory=QualityConfig)
    """Quality heuristics (empty, placeholder, truncated, refusal, ... one reason code each)."""
    pii: PIIConfig = Field(default_factory=PIIConfig)
    """PII and secrets (flag, or redact in the curated output)."""
    tool_calls: ToolCallConfig = Field(default_factory=ToolCallConfig)
    """The tool-call check: functions, argument schemas, call/result pairing."""
    leakage: LeakageConfig = Field(default_factory=LeakageConfig)
    """Train/eval leakage (runs when an eval set is given)."""
    contradictions: ContradictionsConfig = Field(default_factory=ContradictionsConfig)
    """Contradictions: same or neighbouring prompts with conflicting answers (review)."""
    format: FormatConfig = Field(default_factory=FormatConfig)
    """Format and tone consistency per task (answers off their task's dominant format)."""
    diversity: DiversityConfig = Field(default_factory=DiversityConfig)
    """Diversity figures (distinct-n, Vendi, clusters, template concentration)."""
    volatile: VolatileConfig = Field(default_factory=VolatileConfig)
    """Volatile facts in answers (dates, prices, versions, names), for the retrieval hint."""
    verdict: VerdictConfig = Field(default_factory=VerdictConfig)
    """Thresholds of the readiness verdict, each explained in the report."""
    # -- sections added by the other checks (quality, pii, leakage, contradictions, format,
    # -- diversity, verdict) go here, one line each, in the same style as above. ------------

    executor: ExecutorConfig = Field(default_factory=ExecutorConfig, exclude=True)
    """Where the steps run (``local`` or ``ray``). It never changes a result, so it is left out
    of the config's JSON: the run id and ``report.json`` are the same for every executor."""

    severity: dict[str, Severity] = Field(default_factory=dict)
    """Overrides of the default severity, keyed by check name (``near_dedup``) or reason code
    (``near_duplicate``); a reason beats its check, and both beat a step section's own
    ``severity`` (``severity_overrides``)."""

    def severity_overrides(self) -> SeverityOverrides:
        """Every severity override of the config in one policy: this ``severity`` section and
        the quality, pii and leakage sections' own ``severity`` (overrides scoped to a check)."""
        return SeverityOverrides(
            by_check_or_reason=self.severity,
            by_step={
                QualityCheck.name: self.quality.severity,
                PIICheck.name: self.pii.severity,
                LeakageCheck.name: self.leakage.severity,
                ToolCallCheck.name: self.tool_calls.severity,
            },
        )

    @classmethod
    def from_file(cls, path: str | Path) -> CurateConfig:
        """Load a config from a ``.toml`` or ``.json`` file.

        Raises:
            ConfigError: the file is missing, unparseable, or does not validate; the message
                names the file and the offending field.
        """
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: no such config file")
        try:
            if path.suffix == ".toml":
                data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
            elif path.suffix == ".json":
                data = json.loads(path.read_text(encoding="utf-8"))
            else:
                raise ConfigError(f"{path}: a config must be a .toml or .json file")
        except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: cannot parse: {e}") from e
        return cls.from_data(data, where=str(path))

    @classmethod
    def from_data(cls, data: Any, where: str = "config") -> CurateConfig:
        """Validate a parsed mapping (a TOML/JSON document or an API body).

        Raises:
            ConfigError: the data does not validate; the message names each bad field.
        """
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
                for err in e.errors()
            )
            raise ConfigError(f"{where}: {problems}") from e
