"""The HTML in a real browser: headless Chromium loads it offline, with no console errors,
at desktop and phone widths."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from results_fixture import built_handout

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed; .ci/run "
                                "installs Debian's chromium")

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
         "--enable-logging=stderr", "--v=0")
# Chromium logs every console message, CSP violations included, as "...:CONSOLE(n)]" or
# "...:CONSOLE:n]" lines on stderr with --enable-logging=stderr.
CONSOLE_ERROR = re.compile(r":CONSOLE[:(]|Uncaught")


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


def _console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if CONSOLE_ERROR.search(line)]


@pytest.mark.parametrize(("width", "height"), [(1280, 2400), (390, 4000)])
def test_page_loads_and_renders_without_console_errors(tmp_path: Path, width: int,
                                                       height: int) -> None:
    page = (built_handout() / "index.html").as_uri()
    shot = tmp_path / "shot.png"
    result = _chromium(tmp_path, f"--window-size={width},{height}", f"--screenshot={shot}", page)
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.is_file() and shot.stat().st_size > 20_000  # a real page, not a blank one
    assert _console_errors(result.stderr) == []


def test_dom_has_every_figure_loaded(tmp_path: Path) -> None:
    page = (built_handout() / "index.html").as_uri()
    result = _chromium(tmp_path, "--dump-dom", page)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert len(re.findall(r"<figure\b", dom)) == 8
    assert len(re.findall(r"<figcaption>", dom)) == 8
    assert "Gradient descent for linear regression" in dom
    assert _console_errors(result.stderr) == []


def test_console_errors_are_detected(tmp_path: Path) -> None:
    """The check above can fail: a page that breaks its own CSP is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!doctype html><meta http-equiv="Content-Security-Policy" '
                   "content=\"default-src 'none'\"><p>x</p>"
                   '<img src="http://127.0.0.1/x.png">', encoding="utf-8")
    result = _chromium(tmp_path, "--dump-dom", bad.as_uri())
    assert _console_errors(result.stderr)
