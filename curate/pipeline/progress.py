"""A run's progress off a terminal: one log line when each step starts and one when it ends.

On a terminal the CLI draws a bar. Off one (CI, ``nohup``, the job worker) a bar is hidden, or
worse a stream of carriage returns in a log file; what a reader of a log wants is a line per
step, with its elapsed seconds and records per second::

    14:02:11 curate: step 3/9 semantic_dedup started (985 records)
    14:02:12 curate: step 3/9 semantic_dedup done in 0.8 s (1,231 records/s)

The lines go to the ``tunesmith.curate`` logger. ``off_terminal`` (entered by ``curate.run``)
prints them on stderr when stdout is not a terminal and nothing else handles that logger (an
application that configured logging gets them through its own handlers), and keeps third-party
noise out of the log for the run: progress bars of tqdm and the Hugging Face libraries, their
advisory logging, and Python warnings, which are counted and summed up in one line instead
(``TUNESMITH_DEBUG=1`` shows them).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("tunesmith.curate")

QUIET_ENV = {
    "TQDM_DISABLE": "1",  # tqdm >= 4.66 reads its defaults from TQDM_* variables
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "DATASETS_VERBOSITY": "error",
    "TOKENIZERS_PARALLELISM": "false",
}
"""Environment that keeps the libraries a run may load quiet (read when they are imported, and
by Ray's workers, which inherit it); a variable the user set is left as it is."""

NOISY_LOGGERS = ("transformers", "datasets", "sentence_transformers", "huggingface_hub", "ray")
"""Third-party loggers held at ERROR for the run."""


class StepTimer:
    """Logs a step's start and end; ``done`` returns the elapsed seconds."""

    def __init__(self, name: str, index: int, total: int, records: int) -> None:
        self.name, self.index, self.total, self.records = name, index, total, records
        log.info("step %d/%d %s started (%s records)", index + 1, total, name, f"{records:,}")
        self.start = time.perf_counter()

    def done(self) -> float:
        """Log the end of the step, with elapsed seconds and records per second."""
        seconds = time.perf_counter() - self.start
        rate = self.records / seconds if seconds > 0 else float("inf")
        log.info(
            "step %d/%d %s done in %.1f s (%s records/s)",
            self.index + 1,
            self.total,
            self.name,
            seconds,
            f"{rate:,.0f}",
        )
        return seconds


def is_terminal() -> bool:
    """Whether stdout is an interactive terminal."""
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdout
        return False


@contextmanager
def off_terminal() -> Iterator[None]:
    """For a run whose stdout is not a terminal: step lines on stderr, third-party noise off.

    On a terminal, where the application handles the ``tunesmith.curate`` logger itself, or
    off the main thread (the logging and warnings settings changed here are process-wide),
    nothing changes.
    """
    if (
        is_terminal()
        or log.hasHandlers()
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s curate: %(message)s", "%H:%M:%S"))
    added_env = [k for k in QUIET_ENV if k not in os.environ]
    saved_levels = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    saved_level, saved_propagate = log.level, log.propagate
    os.environ.update({k: QUIET_ENV[k] for k in added_env})
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    show = os.environ.get("TUNESMITH_DEBUG") == "1"
    try:
        with warnings.catch_warnings(record=not show) as caught:
            if not show:
                warnings.simplefilter("always")
            yield
        if caught:
            kinds = sorted({w.category.__name__ for w in caught})
            log.info(
                "%d warning(s) hidden (%s); TUNESMITH_DEBUG=1 shows them",
                len(caught),
                ", ".join(kinds),
            )
    finally:
        log.removeHandler(handler)
        log.setLevel(saved_level)
        log.propagate = saved_propagate
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)
        for key in added_env:
            os.environ.pop(key, None)
