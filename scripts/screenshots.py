"""Screenshots of the demo's reports for the README, taken in headless Chromium.

    .venv/bin/python scripts/screenshots.py [DEMO_DIR]   # default: ./tunesmith-demo

Writes docs/img/audit-report.png and docs/img/comparison-report.png from the real demo output.
Needs Debian's chromium (``make browser``) and the playwright package (dev extra).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def shoot(pages: dict[str, Path], out_dir: Path, chromium: str = "/usr/bin/chromium") -> list[Path]:
    """Open each HTML file offline and save a screenshot of its first screenfuls."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        browser = p.chromium.launch_persistent_context(
            profile,
            executable_path=chromium,
            args=FLAGS,
            headless=True,
            viewport={"width": 1280, "height": 1600},
            offline=True,
        )
        for name, html in pages.items():
            if not html.is_file():
                raise SystemExit(f"{html} does not exist: run `make demo` first")
            page = browser.new_page()
            page.goto(html.resolve().as_uri())
            page.wait_for_load_state("load")
            target = out_dir / f"{name}.png"
            page.screenshot(path=str(target), full_page=False)
            written.append(target)
        browser.close()
    return written


def main() -> None:
    demo = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tunesmith-demo"
    pages = {
        "audit-report": demo / "curate" / "report.html",
        "comparison-report": demo / "gate" / "report.html",
    }
    for path in shoot(pages, ROOT / "docs" / "img"):
        print(path)


if __name__ == "__main__":
    main()
