"""The HTML in a real browser: headless Chromium loads it offline, with no console errors,
at desktop and phone widths; and the Content-Security-Policy stops every fetch a user
template makes, counted by a local HTTP server."""

from __future__ import annotations

import http.server
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from results_fixture import built_handout, make_results

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


# ---------------------------------------------------------------- the policy, enforced


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Serves the pages it is given and records every path a browser asks for."""

    pages: ClassVar[dict[str, bytes]] = {}
    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).asked.append(self.path)
        body = type(self).pages.get(self.path, b"<svg xmlns='http://www.w3.org/2000/svg'/>")
        self.send_response(200)
        self.send_header("Content-Type", "text/html" if self.path.endswith(".html")
                         else "image/svg+xml")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def recorder() -> Iterator[tuple[type[_Recorder], str]]:
    handler = type("Recorder", (_Recorder,), {"pages": {}, "asked": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _attacks(origin: str) -> str:
    """Fetches a template can write that the static check does not see."""
    return (f"<style>body {{ background-image: \\75 rl({origin}/css-escape) }}</style>"
            f'<svg><use href="{origin}/use.svg#a"/></svg>'
            f'<svg><use href="/same-origin-use.svg#a"/></svg>'
            f'<script>fetch("{origin}/script-fetch")</script>')


def _visit(tmp_path: Path, handler: type[_Recorder], origin: str, path: str,
           page: str) -> list[str]:
    """The paths a headless Chromium asks for while it shows ``page`` (for 3 s of page time)."""
    handler.pages[path] = page.encode("utf-8")
    handler.asked.clear()
    result = _chromium(tmp_path, "--virtual-time-budget=3000", "--dump-dom", origin + path)
    assert result.returncode == 0, result.stderr[-2000:]
    return [asked for asked in handler.asked if asked != "/favicon.ico"]


def test_the_policy_stops_every_fetch_a_user_template_makes(
    tmp_path: Path, recorder: tuple[type[_Recorder], str]
) -> None:
    from reportgen.render.html import render_html

    handler, origin = recorder
    attacks = _attacks(origin)
    template = (f"<!doctype html>\n<html>\n<head>\n<title>t</title>\n</head>\n"
                f"<body>{attacks}</body>\n</html>\n")
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "handout.html").write_text(template, encoding="utf-8")
    html = render_html(make_results(), None, {}, folder)  # passes the static check

    # The same page without the policy: the browser fetches all four (the test can fail).
    unprotected = _visit(tmp_path, handler, origin, "/unprotected.html", template)
    assert {"/css-escape", "/use.svg", "/same-origin-use.svg", "/script-fetch"} <= set(
        unprotected), unprotected
    # With the policy the renderer put first in <head>: nothing but the page itself.
    assert _visit(tmp_path, handler, origin, "/handout.html", html) == ["/handout.html"]


def test_a_refresh_passes_the_policy_so_the_renderer_refuses_it(
    tmp_path: Path, recorder: tuple[type[_Recorder], str]
) -> None:
    from reportgen.render.errors import RenderError
    from reportgen.render.html import CSP_META, render_html

    handler, origin = recorder
    refresh = f'<meta http-equiv="refresh" content="0;url={origin}/refreshed">'
    page = f"<!doctype html>\n<html>\n<head>\n{CSP_META}\n{refresh}\n</head>\n</html>\n"
    assert "/refreshed" in _visit(tmp_path, handler, origin, "/refresh.html", page)
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "handout.html").write_text(page, encoding="utf-8")
    with pytest.raises(RenderError, match='http-equiv="refresh"'):
        render_html(make_results(), None, {}, folder)
