"""``SynthConfig``: which model synthesises, how, and how strictly the results are checked."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from curate.models.generation import SamplingParams
from curate.verify import VERIFIERS

ERROR_TYPES = (
    "factual_error",
    "format_violation",
    "ignored_instruction",
    "reasoning_slip",
    "unsafe_compliance",
    "verbosity",
)
"""The named error types a negative (rejected) answer can carry; one template each."""

STYLES: dict[str, str] = {
    "question": "phrased as a direct question",
    "imperative": "phrased as a short imperative command",
    "context_first": "with the background or context first and the actual request last",
    "context_last": "with the actual request first and any background or context after it",
    "terse": "as tersely as possible, in a few words",
    "verbose": "in a longer, more detailed and polite way",
    "typos": "written casually with a few spelling mistakes and typos",
}
"""Diversification styles and the hint each puts in the rewrite template."""

Task = Literal["teacher", "diversify", "negatives"]


class SynthConfig(BaseModel):
    """How to synthesise: the generator, the sampling, the task's knobs and the checks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: str = "transformers"
    """Generator backend: ``transformers``, ``openai``, ``vllm`` or ``ray`` (an inner backend on
    a Ray actor pool: ``options`` = ``inner``, ``concurrency``, ``num_gpus``, ``address`` and the
    inner backend's own)."""
    model: str = "smollm2-135m"
    """The teacher model (alias, folder, hub id, or the served name for ``openai``)."""
    base_url: str | None = None
    """The server's URL for the ``openai`` backend."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Backend options (``batch_size``, ``max_concurrency``, ``tensor_parallel_size``, ...)."""
    judge_backend: str | None = None
    """The judge's backend; default: the generator's."""
    judge_model: str | None = None
    """The judge model; default: the generator's model (a stronger one is better)."""
    judge_base_url: str | None = None
    """The judge server's URL (``openai`` judge); default: ``base_url``."""

    max_tokens: int = Field(256, ge=1)
    """The most new tokens per generated answer or rewrite."""
    temperature: float = Field(0.7, ge=0.0)
    """Sampling temperature of the generator (the judge is always greedy)."""
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    """Nucleus sampling mass."""
    seed: int = 0
    """Sampling seed: the same seed gives the same answers (and cache hits on rerun)."""
    limit: int | None = Field(None, ge=1)
    """Synthesise for the first N input records only."""
    chunk: int = Field(16, ge=1)
    """Requests per generation call: progress and the cache advance per chunk."""
    templates_dir: str | None = None
    """A folder whose ``<name>.txt`` files override the built-in prompt templates."""
    drop_truncated: bool = True
    """Drop generations that hit ``max_tokens`` (reason ``truncated_generation``)."""

    teacher_select: Literal["weak", "all"] = "weak"
    """Teacher: answer only records with a missing, too short or flagged answer, or all."""
    min_answer_words: int = Field(3, ge=0)
    """Teacher: answers with fewer words count as weak."""

    styles: tuple[str, ...] = tuple(STYLES)
    """Diversify: the styles to rewrite into."""
    variants: int = Field(2, ge=1)
    """Diversify: rewrites per prompt (styles taken in turn, so the set spreads over all)."""

    error_types: tuple[str, ...] = ERROR_TYPES
    """Negatives: the error types to generate (taken in turn across prompts)."""
    pairs_per_prompt: int = Field(1, ge=1)
    """Negatives: rejected answers per prompt, each of another error type."""
    corrections: bool = True
    """Negatives: also build "error then correction" SFT examples from verified pairs."""
    correction_types: tuple[str, ...] = ("factual_error", "reasoning_slip")
    """Negatives: the error types whose verified pairs become correction examples."""

    verifier: str | None = None
    """Teacher and negatives: a verifier name (``numeric``, ``exact``, ... see
    ``curate.verify.get_verifier``) that checks sampled answers against each record's reference:
    rejection sampling with verified pairs, no judge. None: judge-verified negatives and
    unverified teacher answers, as before."""
    samples: int = Field(1, ge=1)
    """With a verifier: answers sampled per prompt (k); sample i uses seed ``seed + i``."""

    judge: bool = True
    """Negatives: verify each pair with the judge in both orders (position swap)."""
    judge_kind: Literal["likelihood", "generative"] | None = None
    """Negatives: the pair judge. ``likelihood``: the judge model's next-token probability of
    "A" against "B", both orders averaged (``curate.synth.likelihood``); ``generative``: its
    written verdict, which must prefer chosen in both orders. None: likelihood for local
    backends (transformers, vLLM), generative for OpenAI-compatible servers."""
    judge_max_tokens: int = Field(8, ge=1)
    """Tokens the judge may spend on its verdict."""
    pair_similarity: float = Field(0.9, gt=0.0, le=1.0)
    """Negatives: chosen/rejected similarity (difflib ratio) at or above which a pair is a
    near-duplicate and dropped: there is nothing to learn from it."""
    curation: bool = True
    """Pass the synthetic records through dedup against the input set and quality heuristics."""
    quality_drop: tuple[str, ...] = (
        "empty_answer",
        "placeholder_answer",
        "placeholder_input",
        "broken_encoding",
        "repetition",
        "assistant_boilerplate",
    )
    """Quality reason codes that drop a synthetic record (others only annotate)."""

    @field_validator("styles")
    @classmethod
    def _known_styles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(STYLES))
        if unknown:
            raise ValueError(f"unknown style(s) {unknown}; known: {list(STYLES)}")
        return value

    @field_validator("error_types", "correction_types")
    @classmethod
    def _known_errors(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(ERROR_TYPES))
        if unknown:
            raise ValueError(f"unknown error type(s) {unknown}; known: {list(ERROR_TYPES)}")
        return value

    @field_validator("verifier")
    @classmethod
    def _known_verifier(cls, value: str | None) -> str | None:
        if value is not None and value not in VERIFIERS:
            raise ValueError(f"unknown verifier {value!r}; known: {list(VERIFIERS)}")
        return value

    @model_validator(mode="after")
    def _samples_need_a_verifier(self) -> SynthConfig:
        if self.samples > 1 and self.verifier is None:
            raise ValueError("samples > 1 needs a verifier to choose among the samples")
        if self.samples > 1 and self.temperature == 0:
            raise ValueError("samples > 1 needs temperature > 0 (greedy samples are identical)")
        return self

    def sampling(self) -> SamplingParams:
        """The sampling parameters every synthesis task generates with."""
        return SamplingParams(
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            seed=self.seed,
        )
