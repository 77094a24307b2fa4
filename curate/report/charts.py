"""The report's charts: matplotlib figures rendered to inline SVG text (no files, no network).

matplotlib is imported inside ``_figure`` (with the Agg backend) so ``import curate`` stays
light. SVG output is made reproducible: a fixed hash salt, no date metadata, text as text.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
"""Tableau 10: distinct hues that stay readable for most colour-blind readers."""


def _figure(width: float, height: float) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "svg.hashsalt": "tunesmith",
            "svg.fonttype": "none",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt.subplots(figsize=(width, height))


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.tight_layout()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]  # drop the XML prologue and doctype: inline SVG
    return re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    title: str,
    xlabel: str = "",
    color: str = PALETTE[0],
) -> str:
    """A horizontal bar chart, largest at the top."""
    fig, ax = _figure(7, max(1.6, 0.28 * len(labels) + 0.9))
    ys = list(range(len(labels)))[::-1]
    ax.barh(ys, values, color=color)
    ax.set_yticks(ys, [str(lab)[:48] for lab in labels])
    for y, v in zip(ys, values, strict=True):
        ax.text(v, y, f" {v:,.4g}", va="center", fontsize=8)
    ax.set_title(title, loc="left")
    ax.set_xlabel(xlabel)
    return _svg(fig)


def waterfall(steps: Sequence[tuple[str, int]], total: int, title: str) -> str:
    """Input rows falling step by step (rejected, dropped by reason) to the kept records."""
    fig, ax = _figure(7, max(1.8, 0.32 * (len(steps) + 2) + 0.9))
    labels = ["input rows", *[s for s, _ in steps], "kept"]
    level = total
    bars = [(0, total, PALETTE[0])]
    for _, n in steps:
        level -= n
        bars.append((level, n, PALETTE[2]))
    bars.append((0, level, PALETTE[4]))
    ys = list(range(len(labels)))[::-1]
    for y, (left, width, color) in zip(ys, bars, strict=True):
        ax.barh(y, width, left=left, color=color)
        ax.text(left + width, y, f" {width:,}", va="center", fontsize=8)
    ax.set_yticks(ys, labels)
    ax.set_title(title, loc="left")
    ax.set_xlabel("records")
    return _svg(fig)


def histograms(panels: Sequence[tuple[str, Sequence[str], Sequence[int]]], title: str) -> str:
    """Side-by-side histograms over shared bin labels (prompt and answer lengths)."""
    import matplotlib.pyplot as plt

    _figure(1, 1)
    plt.close("all")
    fig, axes = plt.subplots(1, len(panels), figsize=(7.5, 2.8), squeeze=False)
    for i, (ax, (name, bins, counts)) in enumerate(zip(axes[0], panels, strict=True)):
        ax.bar(range(len(bins)), counts, color=PALETTE[i % len(PALETTE)])
        ax.set_xticks(range(len(bins)), bins, rotation=45, ha="right", fontsize=7)
        ax.set_title(name, loc="left")
        ax.set_xlabel("words")
    axes[0][0].set_ylabel("records")
    fig.suptitle(title, x=0.01, ha="left")
    return _svg(fig)


def scatter_map(
    x: Sequence[float],
    y: Sequence[float],
    cluster: Sequence[int],
    labels: dict[int, str],
    title: str,
) -> str:
    """A 2-D map of the embedding space (PCA), one colour per k-means cluster."""
    fig, ax = _figure(7, 4.6)
    k = max(cluster, default=-1) + 1
    for c in range(k):
        idx = [i for i, v in enumerate(cluster) if v == c]
        if not idx:
            continue
        ax.scatter(
            [x[i] for i in idx],
            [y[i] for i in idx],
            s=6,
            alpha=0.7,
            color=PALETTE[c % len(PALETTE)],
            label=labels.get(c, str(c)) if c < 10 else None,
        )
    ax.set_title(title, loc="left")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    if k:
        ax.legend(
            fontsize=6,
            markerscale=2,
            loc="center left",
            bbox_to_anchor=(1.0, 0.5),
            title="10 largest clusters" if k > 10 else None,
            title_fontsize=7,
        )
    return _svg(fig)
