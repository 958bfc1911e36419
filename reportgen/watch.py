"""``reportgen watch``: rebuild a handout whenever its config or a template changes.

One warm process: JAX, the renderer and the figures stay loaded between rebuilds, the
numbers come from the cache when only the presentation changed (``Config.numbers``),
and figures are redrawn only when their inputs changed, so an edited title reaches the
HTML in well under a second. A bad edit prints its one-line error and keeps the last good
report. ``--serve`` serves the report folder on 127.0.0.1 and reloads the page after each
rebuild; only the served copy gets the reload script, the written file stays
self-contained.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportgen import pipeline
from reportgen.config import ConfigError, load, resolve_path
from reportgen.render.figures import MemoryCache
from reportgen.render.html import CONTENT_SECURITY_POLICY, CSP_META

#: Milliseconds watchfiles waits for a burst of writes (an editor's save) to settle.
DEBOUNCE_MS = 50
#: Milliseconds between checks of the inputs when no file-system event arrives.
POLL_MS = 250
RELOAD_PATH = "/__reportgen__/version"
#: What the served page polls, every half second, to reload after a rebuild.
RELOAD_SCRIPT = (
    "<script>(function(){var v=null;setInterval(function(){fetch('" + RELOAD_PATH + "')"
    ".then(function(r){return r.text()}).then(function(t){if(v===null){v=t}"
    "else if(t!==v){location.reload()}}).catch(function(){})},500)})();</script>"
)
#: The served page's policy: the handout's, plus the reload script and its polling.
SERVED_CSP = f"{CONTENT_SECURITY_POLICY}; script-src 'unsafe-inline'; connect-src 'self'"


@dataclass(frozen=True)
class Rebuild:
    """One rebuild's outcome: ok, a one-line message, and how long it took."""

    ok: bool
    message: str
    seconds: float
    version: int


class Watcher:
    """Builds one handout on demand, keeping the last good report when a build fails."""

    def __init__(
        self,
        spec: str | os.PathLike[str],
        target: Path,
        overrides: Sequence[str] = (),
        formats: Collection[str] = ("html",),
        templates_dir: Path | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.config_path = resolve_path(spec).resolve()
        self.target = target
        self.overrides = list(overrides)
        self.formats = tuple(formats)
        self.templates_dir = templates_dir
        self.cache_dir = cache_dir
        self.version = 0
        self.figures = MemoryCache()

    def watched(self) -> list[Path]:
        """The folders to watch: the config's, and the templates folder if any."""
        folders = [self.config_path.parent]
        if self.templates_dir is not None:
            folders.append(self.templates_dir.resolve())
        return folders

    def inputs(self) -> dict[str, tuple[int, int]]:
        """(mtime, size) of every file a build reads: the config, rosters beside it, and
        the templates; a rebuild is due whenever this changes."""
        files = [self.config_path, *self.config_path.parent.glob("*.csv")]
        if self.templates_dir is not None:
            files += [p for p in self.templates_dir.rglob("*") if p.is_file()]
        found = {}
        for path in files:
            try:
                info = path.stat()
            except OSError:
                continue
            found[str(path)] = (info.st_mtime_ns, info.st_size)
        return found

    def build(self) -> Rebuild:
        """Rebuild now; a ConfigError (or any error) leaves the last good report in place."""
        started = time.perf_counter()
        try:
            config = load(self.config_path, self.overrides)
            pipeline.build(config, self.target, self.formats, templates_dir=self.templates_dir,
                           cache_dir=self.cache_dir, figure_cache=self.figures)
        except ConfigError as exc:
            return Rebuild(False, str(exc).splitlines()[0], time.perf_counter() - started,
                           self.version)
        except OSError as exc:
            return Rebuild(False, f"{exc.strerror or exc}", time.perf_counter() - started,
                           self.version)
        self.version += 1
        elapsed = time.perf_counter() - started
        return Rebuild(True, f"rebuilt {self.target} in {elapsed:.2f} s", elapsed, self.version)


def watch(
    watcher: Watcher,
    report: Callable[[Rebuild], None],
    stop: threading.Event | None = None,
) -> None:
    """Build once, then after every change to the build's inputs, until ``stop`` is set.

    File-system events (watchfiles) wake the loop at once; it also wakes every
    ``POLL_MS`` and compares the inputs' (mtime, size) with those of the last build, so an
    edit saved during a build, or before the watcher started, is never missed.
    """
    from watchfiles import watch as file_changes

    seen = watcher.inputs()
    report(watcher.build())
    for _changes in file_changes(*watcher.watched(), debounce=DEBOUNCE_MS, step=25,
                                 stop_event=stop, raise_interrupt=False,
                                 yield_on_timeout=True, rust_timeout=POLL_MS):
        current = watcher.inputs()
        if current != seen:
            seen = current
            report(watcher.build())


# ---------------------------------------------------------------- --serve


def served_page(html: str) -> str:
    """The written page as served: its CSP widened for the reload script, which is added."""
    page = html.replace(CSP_META, CSP_META.replace(CONTENT_SECURITY_POLICY, SERVED_CSP), 1)
    return page.replace("</body>", RELOAD_SCRIPT + "</body>", 1)


def _handler(folder: Path, version: Callable[[], int]) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == RELOAD_PATH:
                self._send(str(version()).encode(), "text/plain")
            elif path in ("/", "/index.html"):
                try:
                    html = (folder / "index.html").read_text(encoding="utf-8")
                except OSError:
                    self.send_error(404, "no report yet")
                    return
                self._send(served_page(html).encode("utf-8"), "text/html; charset=utf-8")
            else:
                super().do_GET()

        def _send(self, body: bytes, kind: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the watch loop prints one line per rebuild."""

    return Handler


@contextlib.contextmanager
def serving(folder: Path, version: Callable[[], int], port: int = 0) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 in a background thread; yields the page's URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _handler(folder, version))
    thread = threading.Thread(target=server.serve_forever, name="reportgen-serve", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
