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
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
#: Errors that mean the report folder cannot be written, wherever they happen.
_DISK_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})
#: How long a finished build waits for another one writing the same folder.
WRITE_LOCK_WAIT_S = 300.0


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
    """Remove temporary folders that killed builds left beside the target.

    A build killed between the two renames of the fallback swap leaves no target and the
    previous report retired as ``.NAME.old-PID``: that one is put back, not removed.
    """
    retired = sorted(target.parent.glob(f".{target.name}.old-*"), key=os.path.getmtime)
    if retired and not os.path.lexists(target):
        retired[-1].rename(target)
    for pattern in (f".{target.name}.tmp-*", f".{target.name}.old-*"):
        for leftover in target.parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def locked(target: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the build lock of ``target``, waiting up to ``wait`` seconds for another build.

    When the lock stays busy an ``OutputError`` says so; two builds never write the same
    folder at once. The lock is ``flock`` on ``.NAME.lock`` beside the target, so the
    kernel releases it when a build dies, even by SIGKILL.
    """
    lock_path = target.parent / f".{target.name}.lock"
    try:
        handle = lock_path.open("a")
    except OSError as exc:
        raise OutputError(exc.errno or errno.EACCES,
                          f"--out: cannot write in {target.parent} ({exc.strerror})") from None
    with handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise OutputError(
                        errno.EBUSY,
                        f"--out: another build is writing {target}; try again when it is done",
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepare_parent(target: Path) -> None:
    """Create the target's parent folder, with a clear error when it cannot be written."""
    if target.exists() and not target.is_dir():
        raise OutputError(errno.ENOTDIR, f"--out: {target} exists and is not a folder")
    for ancestor in target.parents:
        if os.path.exists(ancestor):
            if not ancestor.is_dir():
                raise OutputError(errno.ENOTDIR, f"--out: {ancestor} is a file, not a folder")
            break
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(exc.errno or errno.EACCES,
                          f"--out: cannot create {target.parent} ({exc.strerror})") from None
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise OutputError(errno.EACCES, f"--out: {target.parent} is not writable")


def preflight(target: Path) -> None:
    """Fail early, before minutes of compute, when ``target`` cannot be written or is busy.

    ``atomic_folder`` checks all of this again under the lock; this only moves the
    error to the start of a build.
    """
    target = Path(os.path.abspath(target))
    prepare_parent(target)
    with locked(target):
        pass


@contextlib.contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """Yield an empty staging folder; on success it replaces ``target`` atomically.

    On any error (or KeyboardInterrupt) the staging folder is removed and the previous
    report at ``target`` stays exactly as it was. A full disk or a read-only file system
    becomes an ``OutputError`` that names the folder. A build that reaches this point
    while another writes the same folder waits for it (the last to finish wins).
    """
    target = Path(os.path.abspath(target))
    prepare_parent(target)
    with locked(target, wait=WRITE_LOCK_WAIT_S):
        _clear_leftovers(target)
        try:
            staged = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        except OSError as exc:
            raise _write_error(exc, target) from None
        umask = os.umask(0)
        os.umask(umask)
        staged.chmod(0o777 & ~umask)
        try:
            yield staged
            _sync_tree(staged)
            _replace(staged, target)
        except BaseException as exc:
            shutil.rmtree(staged, ignore_errors=True)
            if isinstance(exc, OSError) and _is_write_failure(exc, staged):
                raise _write_error(exc, target) from exc
            raise


def _is_write_failure(exc: OSError, staged: Path) -> bool:
    """Whether ``exc`` says the report folder could not be written (not a bug elsewhere)."""
    if isinstance(exc, OutputError):
        return False
    if exc.errno in _DISK_ERRORS:
        return True
    names = (exc.filename, exc.filename2)
    return any(name is not None and str(name).startswith(str(staged)) for name in names)


def _write_error(exc: OSError, target: Path) -> OutputError:
    kept = "the previous report is untouched" if target.exists() else "nothing was written"
    return OutputError(exc.errno or errno.EIO,
                       f"--out: cannot write {target} ({exc.strerror or exc}); {kept}")


def _sync_tree(folder: Path) -> None:
    """Flush every file and folder under ``folder`` to disk before it is swapped in."""
    for root, _dirs, files in os.walk(folder):
        for name in [*files, "."]:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def write_files(folder: Path, files: Mapping[str, bytes]) -> None:
    """Write ``files`` (bytes by relative POSIX path) into ``folder``, creating subfolders."""
    for name, data in sorted(files.items()):
        path = folder.joinpath(*name.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def write_folder(target: Path, files: Mapping[str, bytes]) -> None:
    """Replace the report folder ``target`` atomically with exactly ``files``."""
    with atomic_folder(target) as staged:
        write_files(staged, files)


def replace_file(path: Path, data: bytes) -> None:
    """Write ``path`` atomically: a temporary file beside it, flushed, then renamed over it."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp",
                                         dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
