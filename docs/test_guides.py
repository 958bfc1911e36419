"""Every command and code block of the guides runs, in order, in a fresh folder per guide.

``nox -s docs`` runs this after building the site (the suite's ``tests/`` does not: the
guides build real handouts, which would double the suite's time). ``sh`` blocks run
with ``bash -euo pipefail``; ``python`` blocks with this interpreter; other blocks
(``toml``, ``text``) are shown, not run. A guide whose block fails fails its test, with
the block and its output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

GUIDES = Path(__file__).resolve().parent / "guides"
BLOCK = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```\s*$", re.M | re.S)
RUN = {"sh": ["bash", "-euo", "pipefail", "-c"], "python": [sys.executable, "-c"]}


def blocks(page: Path) -> list[tuple[str, str]]:
    """The (language, code) of every fenced block of a page that runs."""
    return [(language, code) for language, code in BLOCK.findall(page.read_text("utf-8"))
            if language in RUN]


def test_every_guide_has_blocks_to_run() -> None:
    pages = sorted(GUIDES.glob("*.md"))
    assert len(pages) >= 7
    for page in pages:
        assert blocks(page), page.name


@pytest.mark.parametrize("page", sorted(GUIDES.glob("*.md")), ids=lambda p: p.stem)
def test_guide_runs(page: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    cache = tmp_path_factory.getbasetemp() / "guides-cache"
    env = {**os.environ, "REPORTGEN_CACHE_DIR": str(cache),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for number, (language, code) in enumerate(blocks(page), start=1):
        done = subprocess.run([*RUN[language], code], cwd=tmp_path, env=env, text=True,
                              capture_output=True, timeout=900)
        assert done.returncode == 0, (
            f"{page.name}, block {number} ({language}) exited {done.returncode}:\n{code}\n"
            f"--- stdout\n{done.stdout[-2000:]}\n--- stderr\n{done.stderr[-2000:]}")
