"""``reportgen watch``: rebuild a handout whenever its config or a template changes.

One warm process: JAX, the renderer and the figures stay loaded between rebuilds, the
numbers come from the cache when only the presentation changed (``Config.numbers``),
and figures are redrawn only when their inputs changed, so an edited title reaches the
HTML in well under a second. A bad edit prints its one-line error and keeps the last good
report. ``--serve`` serves the last good report on 127.0.0.1 (``reportgen.serve``), with a
failed rebuild's one-line error shown above it, and reloads the page after each rebuild;
only the served copy gets the reload script, the written file stays self-contained.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from reportgen import pipeline
from reportgen.config import ConfigError, load, resolve_path
from reportgen.render.figures import MemoryCache
from reportgen.serve import Site

#: Milliseconds watchfiles waits for a burst of writes (an editor's save) to settle.
DEBOUNCE_MS = 50
#: Milliseconds between checks of the inputs when no file-system event arrives.
POLL_MS = 250


@dataclass(frozen=True)
class Rebuild:
    """One rebuild's outcome: ok, a one-line message, how long it took, and the number of
    rebuilds so far (good or not)."""

    ok: bool
    message: str
    seconds: float
    version: int


def first_line(exc: Exception) -> str:
    """An error's first line (how a rebuild's error is told, unless a caller words it)."""
    return (str(exc).splitlines() or [type(exc).__name__])[0]


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
        describe: Callable[[Exception], str] = first_line,
    ) -> None:
        self.config_path = resolve_path(spec).resolve()
        self.target = target
        self.overrides = list(overrides)
        self.formats = tuple(formats)
        self.templates_dir = templates_dir
        self.cache_dir = cache_dir
        self.describe = describe
        self.version = 0
        self.figures = MemoryCache()
        self.site = Site({}, 0, None)  # replaced whole after each rebuild (thread-safe)

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
        """Rebuild now; a ConfigError (or any error) leaves the last good report in place.

        ``site`` then holds the last good report's files, this rebuild's number, and its
        one-line error (None after a good build).
        """
        started = time.perf_counter()
        self.version += 1
        try:
            config = load(self.config_path, self.overrides)
            files = pipeline.build(config, self.target, self.formats,
                                   templates_dir=self.templates_dir, cache_dir=self.cache_dir,
                                   figure_cache=self.figures)
        except (ConfigError, OSError) as exc:
            message = self.describe(exc)
            self.site = Site(self.site.files, self.version, message)
            return Rebuild(False, message, time.perf_counter() - started, self.version)
        self.site = Site(dict(files), self.version, None)
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


