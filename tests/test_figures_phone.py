"""The handout on a phone, in a real headless Chromium: every figure's text at least 9 CSS px.

Chromium is driven through the DevTools protocol on a pipe (``--remote-debugging-pipe``):
the page is laid out in a 390 CSS px wide viewport (an iPhone's), then each figure's
``<img>`` reports the image it chose (``currentSrc``: the phone variant, if the media query
picked it) and its width on the page. Every text of that SVG, at its own font size times
the scale at which it is drawn (rendered width / the SVG's own width), must be at least
9 CSS px.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from results_fixture import config_for

from reportgen import pipeline
from reportgen.store.output import write_files

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed; .ci/run "
                                "installs Debian's chromium")

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
MIN_TEXT_PX = 9.0
FIGURES_JS = """JSON.stringify(Array.from(document.querySelectorAll('figure img')).map(img => ({
  id: img.closest('figure').id, src: img.currentSrc, width: img.getBoundingClientRect().width,
  complete: img.complete && img.naturalWidth > 0})))"""
FONT = re.compile(r"font(?:-size)?:\s*(?:[a-z-]+\s+)*([\d.]+)px")


def _high(fds: tuple[int, int]) -> tuple[int, int]:
    """The same pipe ends moved to descriptors of 100 and above."""
    moved = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for fd in fds)
    for fd in fds:
        os.close(fd)
    return moved[0], moved[1]


class DevTools:
    """A headless Chromium and one page, spoken to over the DevTools pipe."""

    def __init__(self, profile: Path) -> None:
        assert CHROMIUM is not None
        commands_r, self._commands = _high(os.pipe())
        self._replies, replies_w = _high(os.pipe())
        # Chromium reads commands on fd 3 and writes replies on fd 4: bash puts the pipes
        # there (from fds above 100, which neither 3 nor 4 can be) as it becomes Chromium
        self._process = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{commands_r} 4>&{replies_w}', CHROMIUM,
             "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--disable-extensions",
             "--hide-scrollbars", "--remote-debugging-pipe", f"--user-data-dir={profile}",
             "about:blank"],
            pass_fds=(commands_r, replies_w), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(commands_r)
        os.close(replies_w)
        self._next = 0
        self._buffer = b""
        self._events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.call("Target.attachToTarget", targetId=target,
                                  flatten=True)["sessionId"]

    def call(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply["result"]
                return result
            self._events.append(reply)

    def wait_for(self, event: str) -> None:
        while not any(e.get("method") == event for e in self._events):
            self._events.append(self._read())

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._replies, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        decoded: dict[str, Any] = json.loads(message)
        return decoded

    def close(self) -> None:
        os.close(self._commands)
        self._process.terminate()
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
        os.close(self._replies)


@pytest.fixture(scope="module")
def phone_page() -> Iterator[list[dict[str, Any]]]:
    """The default handout's HTML (no PDF: the page is what a phone shows), laid out at
    390 CSS px in Chromium: each figure's chosen image and rendered width."""
    config = config_for()
    folder = Path(tempfile.mkdtemp(prefix="reportgen-phone-"))
    write_files(folder, pipeline.report_files(config, pipeline.compute(config), ("html",)))
    tools = DevTools(folder / "profile")
    try:
        tools.call("Emulation.setDeviceMetricsOverride", session=True, **PHONE)
        tools.call("Page.enable", session=True)
        tools.call("Page.navigate", session=True, url=(folder / "index.html").as_uri())
        tools.wait_for("Page.loadEventFired")
        value = tools.call("Runtime.evaluate", session=True, expression=FIGURES_JS,
                           returnByValue=True)["result"]["value"]
        yield json.loads(value)
    finally:
        tools.close()
        shutil.rmtree(folder, ignore_errors=True)


def _svg(src: str) -> str:
    assert src.startswith("data:image/svg+xml;base64,"), src[:60]
    return base64.b64decode(src.split(",", 1)[1]).decode("utf-8")


def _own_width(svg: str) -> float:
    """The SVG's width in its own user units (its viewBox, in which its fonts are sized)."""
    view_box = re.search(r'viewBox="([^"]+)"', svg)
    assert view_box is not None
    return float(view_box.group(1).split()[2])


def _font_sizes(svg: str) -> list[float]:
    return [float(size) for size in FONT.findall(svg)]


def test_every_figure_is_laid_out_on_the_phone(phone_page: list[dict[str, Any]]) -> None:
    assert len(phone_page) == 8
    for figure in phone_page:
        assert figure["complete"], figure["id"]
        assert 300 < figure["width"] <= 390, figure  # the column's width, not overflowing


def test_every_figure_text_is_at_least_9_css_px_on_a_phone(
        phone_page: list[dict[str, Any]]) -> None:
    for figure in phone_page:
        svg = _svg(figure["src"])
        scale = figure["width"] / _own_width(svg)
        sizes = _font_sizes(svg)
        assert sizes, figure["id"]  # the figure has text, and the test reads it
        smallest = min(sizes) * scale
        assert smallest >= MIN_TEXT_PX, (
            f"{figure['id']}: text at {smallest:.1f} CSS px ({min(sizes)} units x {scale:.3f})")


def test_the_check_fails_for_a_printed_figure_on_a_phone(
        phone_page: list[dict[str, Any]]) -> None:
    """The printed (wide) contour map, shown at the phone's width, is what issue 21 saw:
    its ticks and legend far under 9 px. The measurement above would catch it."""
    from results_fixture import make_results

    from reportgen.render.figures import make_figures

    wide = make_figures(make_results())["contour"].svg
    width = next(f["width"] for f in phone_page if f["id"] == "fig-contour")
    assert min(_font_sizes(wide)) * width / _own_width(wide) < MIN_TEXT_PX
