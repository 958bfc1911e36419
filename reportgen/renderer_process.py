"""The helper process: rendering that overlaps computing, and a second core for figures.

A cold build spends its first seconds in JAX (import, compile, run) on one core while
the renderer waits for the numbers. The helper is a spawned process, started before
JAX is imported, that imports matplotlib (and WeasyPrint, when a PDF is wanted)
meanwhile. Once the numbers are known it typesets the equations and draws the figures
this process does not reach first (``render.figures.draw_figures``), then renders the
HTML and typesets the PDF (``render.report``).

It is one process, so it takes its work in the order it was given. It never receives
SIGINT (it starts with the signal blocked, and then ignores it): a terminal's Ctrl-C
reaches the whole process group, and the build decides what an interrupt means; closing
the helper ends it. A helper that cannot start or dies only makes the build do the work
itself. What it renders is byte for byte what this process would have rendered.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import importlib
import multiprocessing
import multiprocessing.connection
import multiprocessing.util
import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def _warm(with_pdf: bool) -> None:
    """In the helper, before its first job: ignore SIGINT, import the renderer.

    Only a head start: an import that fails here (WeasyPrint without its system
    libraries, say) fails again, with its own message, in the job that needs it, as it
    would in the build itself; an initializer that raised would print a traceback.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent()
    modules = ["matplotlib.backends.backend_svg", "reportgen.render.report"]
    for name in modules + (["weasyprint"] if with_pdf else []):
        with contextlib.suppress(Exception):
            importlib.import_module(name)


@functools.cache
def reap_at_exit() -> None:
    """In the process that starts workers: end and reap multiprocessing's resource
    tracker at exit, once (this call is idempotent).

    Spawned workers come with a resource-tracker process that multiprocessing leaves to
    end by itself after this process: it outlived the build and was reaped by PID 1, seen
    meanwhile as a zombie. Stopped here, after the finalizers that release the workers'
    semaphores (``exitpriority`` 0) and before the interpreter ends, it leaves nothing.
    """
    multiprocessing.util.Finalize(None, _stop_resource_tracker, exitpriority=-100)


def _stop_resource_tracker() -> None:
    from multiprocessing import resource_tracker

    stop = getattr(resource_tracker._resource_tracker, "_stop", None)  # Python >= 3.8
    if stop is not None:
        with contextlib.suppress(Exception):  # at exit: never a traceback
            stop()


def exit_with_parent() -> None:
    """In a spawned worker: end this process as soon as the process that started it ends.

    A worker waits for its next job on a queue whose writing end it holds itself, so a
    parent killed outright (SIGKILL, out of memory) would leave it waiting for ever.
    """
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return
    sentinel = parent.sentinel

    def wait_then_exit() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(0)

    threading.Thread(target=wait_then_exit, name="exit-with-parent", daemon=True).start()


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """SIGINT held back (not lost) in this thread for the block: a process started inside
    it inherits the mask and so never receives SIGINT, not even while it starts up."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class Helper(concurrent.futures.Executor):
    """One spawned helper process, started (and importing the renderer) at once.

    An :class:`~concurrent.futures.Executor`: ``submit`` runs a picklable call there.
    Use it as a context manager; leaving the block ends the process at once (its work
    has been collected by then, or is no longer wanted).
    """

    def __init__(self, *, with_pdf: bool = True) -> None:
        context = multiprocessing.get_context("spawn")  # JAX is not fork-safe
        reap_at_exit()
        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=1, mp_context=context, initializer=_warm, initargs=(with_pdf,))
        with _sigint_blocked():  # inherited: the helper never sees a terminal's Ctrl-C
            self._pool.submit(int)  # a spawned worker starts at its first job: start it now

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Run ``fn(*args, **kwargs)`` in the helper process."""
        return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """End the helper: after its queued work when ``wait``, else at once."""
        if wait and not cancel_futures:
            self._pool.shutdown(wait=True)
            return
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=5)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.shutdown(wait=False, cancel_futures=True)


def start(*, with_pdf: bool = True) -> Helper | None:
    """A started helper, or None where this platform cannot start one (the build then
    renders everything in this process)."""
    try:
        return Helper(with_pdf=with_pdf)
    except (OSError, NotImplementedError, ImportError):
        return None
