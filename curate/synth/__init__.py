"""Synthesis: teacher answers, prompt diversification and verified negative examples.

``synthesize(task, input, config)`` is the entry point; templates live in ``data/prompts``.
"""

from curate.synth.config import ERROR_TYPES, STYLES, SynthConfig
from curate.synth.report import SynthReport, SynthResult, write_result
from curate.synth.run import TASKS, synthesize
from curate.synth.templates import load_template
from curate.synth.verify import parse_verdict

__all__ = [
    "ERROR_TYPES",
    "STYLES",
    "TASKS",
    "SynthConfig",
    "SynthReport",
    "SynthResult",
    "load_template",
    "parse_verdict",
    "synthesize",
    "write_result",
]
