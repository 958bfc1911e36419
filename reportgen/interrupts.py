"""SIGINT, SIGTERM and SIGHUP as an exception that cannot be lost.

Python raises KeyboardInterrupt wherever the main thread is when SIGINT arrives. When
that is inside a callback whose exceptions Python reports and drops (JAX's
``_xla_gc_callback`` runs during garbage collection: "Exception ignored in ..."), the
interrupt is lost and the build goes on to replace the report. Inside ``handling()`` each
of these signals is first recorded, then raised as ``Interrupted``; ``check()`` raises it
again at the next safe point (each build stage, and just before a report folder is
swapped in), so a swallowed signal still stops the build. Outside ``handling()`` nothing
is recorded and ``check()`` does nothing.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

#: The signals a build stops on, and what the shell reports for each (128 + number).
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(BaseException):
    """A signal stopped the work; ``outcome`` says what became of the report, if known.

    A ``BaseException`` (like KeyboardInterrupt), so ``except Exception`` does not stop it.
    """

    def __init__(self, signum: int, outcome: str | None = None) -> None:
        self.signum = signum
        self.outcome = outcome
        super().__init__(signal.Signals(signum).name)

    @property
    def name(self) -> str:
        """The signal's name, e.g. ``SIGINT``."""
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """128 + the signal number: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP."""
        return 128 + self.signum


class _State:
    """What the handlers share: the signals received, and whether raising is deferred."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.deferring = 0


_STATE = _State()


def _record_and_raise(signum: int, _frame: FrameType | None) -> None:
    _STATE.received.append(signum)
    if not _STATE.deferring:
        raise Interrupted(signum)


@contextlib.contextmanager
def handling() -> Iterator[None]:
    """Turn ``SIGNALS`` into ``Interrupted`` inside the block; restore the old handlers after.

    Only the main thread can set signal handlers; elsewhere the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    _STATE.received.clear()
    try:
        for signum in SIGNALS:
            signal.signal(signum, _record_and_raise)
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _STATE.received.clear()


def check(outcome: str | None = None) -> None:
    """Raise ``Interrupted`` if a signal arrived (even one whose exception was swallowed)."""
    if _STATE.received:
        raise Interrupted(_STATE.received[0], outcome)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Signals inside the block are recorded but raise nothing there (``check()`` after).

    For the few steps that must not stop half-way: swapping a finished report in, and
    removing a staging folder.
    """
    _STATE.deferring += 1
    try:
        yield
    finally:
        _STATE.deferring -= 1
