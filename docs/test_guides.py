"""Every command and code block of the guides runs, in order, in a fresh folder per guide;
the built site loads and links nothing outside itself.

``nox -s docs`` runs this after building the site into build/site (the suite's ``tests/``
does not: the guides build real handouts, which would double the suite's time). ``sh``
blocks run with ``bash -euo pipefail``; ``python`` blocks with this interpreter; other
blocks (``toml``, ``text``) are shown, not run. A guide whose block fails fails its test,
with the block and its output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

GUIDES = Path(__file__).resolve().parent / "guides"
SITE = Path(__file__).resolve().parents[1] / "build" / "site"
#: A URL that leaves the site: a scheme that fetches, or a protocol-relative one.
EXTERNAL = re.compile(r"\s*(https?:|ftp:|//)", re.I)
CSS_URL = re.compile(r"""(?:url\(\s*|@import\s+)['"]?([^'")\s]+)""")
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


def run_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One reportgen cache for every guide of the run, whichever worker runs it.

    ``REPORTGEN_CACHE_DIR`` where the caller set one (``nox -s docs`` shares the gallery's,
    which built the same shipped handouts); else a folder in the run's temporary root (the
    workers of pytest-xdist each have a folder below it). The cache is safe to share: an
    entry is written whole under a temporary name and renamed into place.
    """
    if os.environ.get("REPORTGEN_CACHE_DIR"):
        return Path(os.environ["REPORTGEN_CACHE_DIR"])
    base = tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "guides-cache"


@pytest.mark.parametrize("page", sorted(GUIDES.glob("*.md")), ids=lambda p: p.stem)
def test_guide_runs(page: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    env = {**os.environ, "REPORTGEN_CACHE_DIR": str(run_cache(tmp_path_factory)),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for number, (language, code) in enumerate(blocks(page), start=1):
        done = subprocess.run([*RUN[language], code], cwd=tmp_path, env=env, text=True,
                              capture_output=True, timeout=900)
        assert done.returncode == 0, (
            f"{page.name}, block {number} ({language}) exited {done.returncode}:\n{code}\n"
            f"--- stdout\n{done.stdout[-2000:]}\n--- stderr\n{done.stderr[-2000:]}")


class _Links(HTMLParser):
    """Every src, href and srcset URL of an HTML page, with its tag."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in ("src", "href"):
                self.urls.append((tag, value))
            elif name == "srcset":
                self.urls += [(tag, part.split()[0]) for part in value.split(",") if part.strip()]


def test_the_site_loads_and_links_nothing_outside_itself() -> None:
    pages = sorted(SITE.rglob("*.html"))
    assert pages, f"no site in {SITE}: nox -s docs builds it (docs/generate.py, mkdocs build)"
    external = []
    for page in pages:
        parser = _Links()
        parser.feed(page.read_text("utf-8"))
        external += [f"{page.relative_to(SITE)}: <{tag}> {url}" for tag, url in parser.urls
                     if EXTERNAL.match(url)]
    for sheet in sorted(SITE.rglob("*.css")):
        external += [f"{sheet.relative_to(SITE)}: {url}"
                     for url in CSS_URL.findall(sheet.read_text("utf-8", errors="replace"))
                     if EXTERNAL.match(url)]
    assert external == []
