"""Writing a report folder atomically: build beside the target, then swap it in.

A build writes into a temporary folder next to the target and exchanges it with the
target only when complete (``renameat2(RENAME_EXCHANGE)`` on Linux, else two renames), so
a failed, interrupted or killed build never leaves a half-written report and never
damages the previous one. A lock beside the target serialises concurrent builds.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class OutputError(OSError):
    """The output folder cannot be written; the message names it."""


def _libc_renameat2() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                         ctypes.c_uint]
    return function


def exchange(source: Path, target: Path) -> bool:
    """Atomically swap two existing paths; False where the OS cannot."""
    renameat2 = _libc_renameat2()
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target),
                       _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(target))


def _replace(staged: Path, target: Path) -> None:
    """Put ``staged`` at ``target``, keeping the old target until the new one is there."""
    if not target.exists():
        staged.rename(target)
        return
    if exchange(staged, target):
        shutil.rmtree(staged)  # now holds the previous report
        return
    retired = target.with_name(f".{target.name}.old-{os.getpid()}")
    target.rename(retired)
    staged.rename(target)
    shutil.rmtree(retired)


def _clear_leftovers(target: Path) -> None:
    """Remove temporary folders that killed builds left beside the target."""
    for pattern in (f".{target.name}.tmp-*", f".{target.name}.old-*"):
        for leftover in target.parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def locked(target: Path) -> Iterator[None]:
    """Hold the build lock of ``target``; a second build waits for it, not corrupts it."""
    lock_path = target.parent / f".{target.name}.lock"
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(
                errno.EBUSY, f"another build is writing {target}; try again when it is done"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepare_parent(target: Path) -> None:
    """Create the target's parent folder, with a clear error when it cannot be written."""
    if target.exists() and not target.is_dir():
        raise OutputError(errno.ENOTDIR, f"--out: {target} exists and is not a folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(exc.errno or errno.EACCES,
                          f"--out: cannot create {target.parent} ({exc.strerror})") from None
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise OutputError(errno.EACCES, f"--out: {target.parent} is not writable")


@contextlib.contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """Yield an empty staging folder; on success it replaces ``target`` atomically.

    On any error (or KeyboardInterrupt) the staging folder is removed and the previous
    report at ``target`` stays exactly as it was.
    """
    target = Path(os.path.abspath(target))
    prepare_parent(target)
    with locked(target):
        _clear_leftovers(target)
        staged = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        umask = os.umask(0)
        os.umask(umask)
        staged.chmod(0o777 & ~umask)
        try:
            yield staged
            _replace(staged, target)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
