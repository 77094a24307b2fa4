"""Executors: where the curation steps run. ``local`` is this process; ``ray`` is Ray Data.

Importing this package imports no Ray: ``open_executor`` imports it only for ``kind="ray"``.
"""

from curate.executors.config import ExecutorConfig

__all__ = ["ExecutorConfig"]
