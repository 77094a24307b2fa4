"""TrainerCallback objects: the metrics file, progress events, the divergence watchdog, stopping.

Callbacks are how ``train`` observes and steers TRL's trainers without subclassing them. The
classes here are built by ``make_callbacks`` so that ``transformers`` is imported only when a
run starts.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

EventKind = Literal["start", "log", "eval", "checkpoint", "stopped", "done"]


class TrainEvent(BaseModel):
    """One progress event of a run (the API forwards these as job events)."""

    kind: EventKind
    """What happened: start, log (training metrics), eval (held-out metrics), checkpoint,
    stopped (watchdog or caller), done."""
    step: int
    """Optimizer steps done so far."""
    max_steps: int
    """Optimizer steps the run will take."""
    metrics: dict[str, float] = Field(default_factory=dict)
    """The logged figures (loss, learning_rate, grad_norm, tokens_per_s, peak_memory_mb, ...)."""
    message: str = ""
    """A human sentence for stops and checkpoints."""


Progress = Callable[[TrainEvent], None]
"""Receives progress events; must return quickly (it runs between training steps)."""


class StopSignal(Protocol):
    """Anything with ``is_set()``, such as ``threading.Event``: set it to stop a run cleanly."""

    def is_set(self) -> bool: ...


def memory_mb() -> float:
    """Memory in use now: the CUDA allocator's peak since the run began on a GPU, else the
    process's resident set (sampled at each log; the run's peak is the largest sample)."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def reset_peak_memory() -> None:
    """Start a fresh CUDA peak for this run (the process may have run others before)."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


class Watchdog:
    """Decides whether a loss series diverged (pure logic, so it is unit-tested alone).

    A run diverged when the loss or the gradient norm is NaN/inf, or when the loss exceeds
    ``factor`` × its lowest value so far *and* its first value (so a loss near zero that
    wobbles is not a blow-up).
    """

    def __init__(self, factor: float) -> None:
        self.factor = factor
        self.first: float | None = None
        self.lowest = math.inf

    def check(self, loss: float | None, grad_norm: float | None = None) -> str | None:
        """The reason the run diverged at this log, or ``None``."""
        if loss is None:
            return None
        if not math.isfinite(loss):
            return f"loss is {loss}"
        if grad_norm is not None and not math.isfinite(grad_norm):
            return f"gradient norm is {grad_norm}"
        if self.first is None:
            self.first = loss
        if loss > self.factor * self.lowest and loss > self.first:
            return (
                f"loss blew up to {loss:.4g} (lowest {self.lowest:.4g}, first {self.first:.4g}, "
                f"limit {self.factor}× lowest)"
            )
        self.lowest = min(self.lowest, loss)
        return None


class RunState:
    """What the callbacks learned during a run, read by ``train.run`` afterwards."""

    def __init__(self) -> None:
        self.stop_reason: str | None = None
        self.diverged = False
        self.last_logs: dict[str, float] = {}
        self.history: list[dict[str, float]] = []
        self.step_seconds = 0.0
        self.peak_memory_mb = 0.0
        self.steps_timed = 0


def _numbers(logs: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in logs.items() if isinstance(v, int | float)}


def make_callbacks(
    metrics_path: Path,
    run_state: RunState,
    *,
    diverge_factor: float,
    progress: Progress | None = None,
    stop: StopSignal | None = None,
) -> list[Any]:
    """The run's callbacks: metrics file + progress events, watchdog, and caller stop."""
    from transformers import TrainerCallback

    def emit(kind: EventKind, state, metrics: dict[str, float] | None = None, message: str = ""):
        if progress is not None:
            progress(
                TrainEvent(
                    kind=kind,
                    step=state.global_step,
                    max_steps=state.max_steps,
                    metrics=metrics or {},
                    message=message,
                )
            )

    class Metrics(TrainerCallback):
        """Appends every log to ``metrics.jsonl`` with tokens/s and peak memory; emits events."""

        def __init__(self) -> None:
            self.clock, self.tokens = time.perf_counter(), 0.0
            self.step_start = self.clock

        def on_train_begin(self, args, state, control, **kwargs):
            # TRL's num_tokens is a running total of this trainer's session, from 0 (also on resume).
            self.clock, self.tokens = time.perf_counter(), 0.0
            reset_peak_memory()
            emit("start", state)

        def on_log(self, args, state, control, logs=None, **kwargs):
            row = _numbers(logs or {})
            now = time.perf_counter()
            if "num_tokens" in row and now > self.clock:
                row["tokens_per_s"] = max(row["num_tokens"] - self.tokens, 0) / (now - self.clock)
                self.tokens = row["num_tokens"]
            self.clock = now
            run_state.peak_memory_mb = max(run_state.peak_memory_mb, memory_mb())
            row["peak_memory_mb"] = round(run_state.peak_memory_mb, 1)
            row["step"] = state.global_step
            run_state.history.append(row)
            if "loss" in row:
                run_state.last_logs = row
            with open(metrics_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
            emit("eval" if any(k.startswith("eval_") for k in row) else "log", state, row)

        def on_step_begin(self, args, state, control, **kwargs):
            self.step_start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            # Step time alone: evaluation, logging and checkpointing happen after on_step_end.
            run_state.step_seconds += time.perf_counter() - self.step_start
            run_state.steps_timed += 1

        def on_save(self, args, state, control, **kwargs):
            emit("checkpoint", state, message=f"checkpoint-{state.global_step} saved")

    class DivergenceWatchdog(TrainerCallback):
        """Stops the run, without checkpointing the diverged weights, when the loss blows up."""

        def __init__(self) -> None:
            self.watchdog = Watchdog(diverge_factor)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs or "loss" not in logs:
                return
            reason = self.watchdog.check(logs.get("loss"), logs.get("grad_norm"))
            if reason:
                run_state.diverged = True
                run_state.stop_reason = f"diverged at step {state.global_step}: {reason}"
                control.should_training_stop = True
                control.should_save = False
                emit("stopped", state, message=run_state.stop_reason)

    class CallerStop(TrainerCallback):
        """Stops the run at the end of a step when the caller's signal is set, saving a checkpoint."""

        def on_step_end(self, args, state, control, **kwargs):
            if stop is not None and stop.is_set() and not run_state.diverged:
                run_state.stop_reason = f"stopped by the caller at step {state.global_step}"
                control.should_training_stop = True
                control.should_save = True
                emit("stopped", state, message=run_state.stop_reason)

    return [Metrics(), DivergenceWatchdog(), CallerStop()]
