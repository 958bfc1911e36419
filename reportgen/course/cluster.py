"""Rendering a batch on an existing Dask cluster (``distributed``), bounded in time.

The scheduler's address is checked as text first (``check_address``), then reached
(``connect``) before the batch computes or writes anything: a typo or a scheduler that is
not there is bad input, found at once. While variants render, a cluster that has had no
worker for ``worker_timeout`` seconds stops the batch (``WorkersLost``) instead of
waiting for ever: the variants already rendered are written and a rerun resumes.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from reportgen.errors import ParameterError

#: Seconds to reach the scheduler and shake hands with it.
CONNECT_TIMEOUT_S = 10.0
#: Seconds a batch waits while the cluster has no worker before it stops (exit 1; a rerun
#: resumes). A cluster that scales from zero workers needs a larger value.
WORKER_TIMEOUT_S = 60.0
#: Seconds between looks at the cluster's workers while waiting for results.
POLL_S = 0.5
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")


class WorkersLost(Exception):
    """The cluster had no worker for ``seconds``; the variants not yet rendered wait."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the Dask cluster had no worker for {seconds:g} s")
        self.seconds = seconds


def check_address(address: str | None) -> str:
    """The scheduler address as ``tcp://HOST:PORT`` (``HOST:PORT`` means tcp, as in Dask).

    Only plain TCP: ``tls://`` needs certificates, which reportgen does not configure,
    and ``inproc://`` reaches only a scheduler inside this process.

    Raises:
      ParameterError: naming ``scheduler``.
    """
    if not address:
        raise ParameterError("scheduler", "expected the address of a Dask scheduler "
                             "(e.g. tcp://127.0.0.1:8786) with the dask executor")
    scheme, separator, rest = address.partition("://")
    if not separator:
        scheme, rest = "tcp", address
    expected = f"expected tcp://HOST:PORT, the address of a Dask scheduler, got {address!r}"
    if scheme.lower() == "tls":
        raise ParameterError("scheduler", f"{expected} (tls:// needs certificates, which "
                             "reportgen does not configure)")
    if scheme.lower() != "tcp":
        raise ParameterError("scheduler", expected)
    try:
        parts = urlsplit(f"tcp://{rest}")
        port = parts.port
    except ValueError:
        raise ParameterError("scheduler", expected) from None
    host = parts.netloc.rsplit(":", 1)[0]
    if (port is None or not 1 <= port <= 65535 or parts.path or parts.query
            or parts.fragment or "@" in parts.netloc or not _HOST.fullmatch(host)):
        raise ParameterError("scheduler", expected)
    return f"tcp://{parts.netloc}"


@contextlib.contextmanager
def _quiet_distributed() -> Iterator[None]:
    """distributed logs lost connections and closing comms itself; the batch reports what
    they mean in its own lines, so its loggers say only what is critical meanwhile."""
    loggers = [logging.getLogger(name) for name in ("distributed", "tornado", "asyncio")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


class Cluster:
    """A client of a Dask scheduler that ``connect`` has reached. Close it when done."""

    def __init__(self, client: Any, address: str, stack: contextlib.ExitStack) -> None:
        self.client = client
        self.address = address
        self._stack = stack

    def close(self) -> None:
        """Disconnect (the cluster itself stays up)."""
        self._stack.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    def workers(self) -> int:
        """How many workers the scheduler knows now."""
        return len(self.client.nthreads())

    def map(
        self,
        function: Callable[..., Any],
        calls: Sequence[tuple[str, tuple[Any, ...]]],
        worker_timeout: float = WORKER_TIMEOUT_S,
    ) -> Iterator[tuple[str, Any]]:
        """Run ``function(*args)`` on the cluster for each ``(key, args)``; yields
        ``(key, result or exception)`` as each ends.

        Raises:
          WorkersLost: the cluster had no worker for ``worker_timeout`` seconds; the
            calls not yet yielded are cancelled.
        """
        ended: queue.Queue[Any] = queue.Queue()
        submitted = {}  # Dask's key -> (our key, its future)
        for key, args in calls:
            future = self.client.submit(function, *args, pure=False, key=f"reportgen-{key}")
            submitted[future.key] = (key, future)
            future.add_done_callback(ended.put)
        left = set(submitted)
        idle_since: float | None = None
        try:
            while left:
                try:
                    future = ended.get(timeout=POLL_S)
                except queue.Empty:
                    idle_since = self._check_workers(idle_since, worker_timeout)
                    continue
                left.discard(future.key)
                key = submitted[future.key][0]
                try:
                    yield key, future.result()
                except Exception as exc:  # reported per call; the others go on
                    yield key, exc
        finally:
            if left:
                with contextlib.suppress(Exception):
                    self.client.cancel([submitted[name][1] for name in left])

    def _check_workers(self, idle_since: float | None, worker_timeout: float) -> float | None:
        """When the cluster first had no worker (None while it has some); raises
        WorkersLost once that is ``worker_timeout`` seconds ago."""
        try:
            count = self.workers()
        except Exception:  # the scheduler is gone: the results raise, one by one
            return idle_since
        if count:
            return None
        now = time.monotonic()
        if idle_since is None:
            return now
        if now - idle_since >= worker_timeout:
            raise WorkersLost(worker_timeout)
        return idle_since


def connect(address: str | None, timeout: float = CONNECT_TIMEOUT_S) -> Cluster:
    """A client of the scheduler at ``address``, reached now (before any work).

    Raises:
      ParameterError: naming ``scheduler`` (a bad address, or nothing answering there) or
        ``executor`` (the distributed package is missing).
    """
    checked = check_address(address)
    try:
        from distributed import Client
    except ImportError:
        raise ParameterError("executor", "dask needs the distributed package, which is not "
                             "installed (pip install 'reportgen[dask]')") from None
    parts = urlsplit(checked)
    host, port = (parts.hostname or ""), int(parts.port or 0)
    unreachable = f"cannot reach a Dask scheduler at {checked}"
    try:  # a refused or unknown address fails here at once, not after the timeout
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise ParameterError("scheduler", f"{unreachable} ({reason.lower()})") from None
    stack = contextlib.ExitStack()
    stack.enter_context(_quiet_distributed())
    try:
        client = Client(checked, timeout=f"{timeout:g}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        stack.close()
        raise ParameterError("scheduler", f"{unreachable} (no Dask scheduler answered within "
                             f"{timeout:g} s: {str(exc).splitlines()[0] if str(exc) else exc!r})"
                             ) from None
    except BaseException:
        stack.close()
        raise
    stack.callback(_close_client, client)
    return Cluster(client, checked, stack)


def _close_client(client: Any) -> None:
    with contextlib.suppress(Exception):
        client.close(timeout=5)
