"""Writing a report folder atomically, and only over a folder that reportgen may replace.

A build writes into a staging folder next to the target and exchanges it with the target
only when complete (``renameat2(RENAME_EXCHANGE)`` on Linux, else two renames), so a
failed, interrupted or killed build never leaves a half-written report and never damages
the previous one. A lock beside the target serialises concurrent builds.

What may be replaced (DESIGN.md, "Report folders and --out"): nothing yet (a new folder),
an empty folder, or a folder reportgen wrote, which holds reportgen's ``manifest.json``
and nothing that manifest does not list (``check_report_folder``; a writer of another kind
of folder passes its own check). A symbolic link, a file, the working directory or a
folder holding it, a folder with anything else in it, or a report we could not remove
(read-only) is refused with an ``OutputError`` naming the ``out`` argument, before anything is
written: nothing of the user's is ever moved or deleted.

Beside the target, under names matched literally (never as a pattern):

- ``.NAME.lock``: the build lock (``flock``), an empty file that stays: removing a lock
  file that another build may be waiting on would let two builds write at once;
- ``.NAME.reportgen-tmp-XXXXXXXX``: the staging folder of a build in progress;
- ``.NAME.reportgen-old-XXXXXXXX``: the previous report, between the two renames of the
  fallback swap.

Only a build killed outright (SIGKILL, power loss) leaves the last two behind; the next
build to the same folder removes them, first putting back a retired report when the
target is missing. NAME is the target's name, or a digest of it when the name is too long
to extend (over ``MAX_READABLE_NAME`` bytes; a folder name may have 255).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from reportgen import interrupts
from reportgen.errors import NamesParameter
from reportgen.store.manifest import MANIFEST_FILE, SCHEMA

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
#: Errors that mean the report folder cannot be written, wherever they happen.
_DISK_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})
#: How long a finished build waits for another one writing the same folder.
WRITE_LOCK_WAIT_S = 300.0
#: Longest target name (bytes) used as is in the names beside it; longer ones are hashed.
MAX_READABLE_NAME = 200
#: Largest manifest.json read to decide whether a folder is a report (real ones: ~3 KB).
MAX_MANIFEST_BYTES = 16 << 20
#: Files that file managers drop into any folder they show; never the user's work.
FILE_MANAGER_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
_STAGING, _RETIRED = "reportgen-tmp-", "reportgen-old-"
_TOKEN_LENGTH = 8  # hex digits

#: A rule for what an existing folder may hold to be replaced; raises OutputError if not.
FolderCheck = Callable[[Path], None]


class OutputError(NamesParameter, OSError):
    """The output folder cannot (or may not) be written: an ``OSError`` about the ``out``
    argument, whose ``problem`` names the folder (one line; ``str()`` has no "[Errno N]")."""

    parameter = "out"

    def __init__(self, code: int, problem: str) -> None:
        super().__init__(code, problem)

    @property
    def problem(self) -> str:
        return str(self.strerror)


# ---------------------------------------------------------------- names beside the target


def sidecar_stem(target: Path) -> str:
    """``.NAME``, or ``.DIGEST`` for a name too long to extend with a suffix."""
    raw = os.fsencode(target.name)
    if len(raw) <= MAX_READABLE_NAME:
        return f".{target.name}"
    return "." + hashlib.sha256(raw).hexdigest()[:32]


def lock_path(target: Path) -> Path:
    """The lock file of ``target``."""
    return target.parent / f"{sidecar_stem(target)}.lock"


def staging_name(target: Path, token: str) -> str:
    """The name of a staging folder of ``target`` (``token``: 8 hex digits)."""
    return f"{sidecar_stem(target)}.{_STAGING}{token}"


def retired_name(target: Path, token: str) -> str:
    """The name of a previous report parked aside by the fallback swap."""
    return f"{sidecar_stem(target)}.{_RETIRED}{token}"


def _is_token(text: str) -> bool:
    return len(text) == _TOKEN_LENGTH and all(c in "0123456789abcdef" for c in text)


def _leftovers(target: Path, kind: str) -> list[Path]:
    """Real folders beside ``target`` named exactly as our staging or retired folders."""
    prefix = f"{sidecar_stem(target)}.{kind}"
    try:
        with os.scandir(target.parent) as entries:
            return sorted(
                Path(entry.path) for entry in entries
                if entry.name.startswith(prefix) and _is_token(entry.name[len(prefix):])
                and entry.is_dir(follow_symlinks=False)
            )
    except OSError:
        return []


def clear_leftovers(target: Path) -> None:
    """Remove the staging and retired folders that killed builds left beside ``target``.

    A build killed between the two renames of the fallback swap leaves no target and the
    previous report retired: that one is put back, not removed.
    """
    retired = _leftovers(target, _RETIRED)
    if retired and not os.path.lexists(target):
        newest = max(retired, key=lambda path: path.stat().st_mtime)
        newest.rename(target)
        retired.remove(newest)
    for leftover in [*_leftovers(target, _STAGING), *retired]:
        with contextlib.suppress(OSError):
            remove_tree(leftover)


def _make_staging(target: Path) -> Path:
    while True:
        staged = target.parent / staging_name(target, secrets.token_hex(_TOKEN_LENGTH // 2))
        try:
            staged.mkdir(0o777)  # the umask applies, as for any new folder
        except FileExistsError:
            continue
        return staged


# ---------------------------------------------------------------- what may be replaced


def _reportgen_manifest_files(folder: Path) -> set[str] | None:
    """The files listed by ``folder``'s manifest.json when reportgen wrote it, else None."""
    path = folder / MANIFEST_FILE
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_MANIFEST_BYTES:
            return None
        record = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        return None
    files = record.get("files")
    if not isinstance(files, dict):
        return None
    return {name for name in files if isinstance(name, str)}


def _first_unlisted(folder: Path, listed: set[str]) -> str | None:
    """The first entry under ``folder`` that is not a listed regular file (or its folder)."""
    folders = {"/".join(name.split("/")[:end]) for name in listed
               for end in range(1, name.count("/") + 1)}
    pending = [""]
    while pending:
        relative = pending.pop()
        with os.scandir(folder / relative) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
        for entry in entries:
            name = f"{relative}/{entry.name}" if relative else entry.name
            if entry.is_dir(follow_symlinks=False) and name in folders:
                pending.append(name)
            elif entry.is_file(follow_symlinks=False) and (
                name in listed or name == MANIFEST_FILE or entry.name in FILE_MANAGER_FILES
            ):
                continue
            else:
                return name + ("/" if entry.is_dir(follow_symlinks=False) else "")
    return None


def _is_file_manager_file(path: Path) -> bool:
    return path.name in FILE_MANAGER_FILES and stat.S_ISREG(path.lstat().st_mode)


def check_report_folder(folder: Path) -> None:
    """Refuse ``folder`` unless it is empty or a report reportgen wrote.

    A report holds reportgen's ``manifest.json`` (schema ``reportgen.manifest/1``) and
    only the regular files that manifest lists (and their folders). File managers' own
    files (``FILE_MANAGER_FILES``) count as nothing.

    Raises:
      OutputError: naming the folder and the first thing that is not reportgen's.
    """
    try:
        names = sorted(name for name in os.listdir(folder)
                       if not _is_file_manager_file(folder / name))
        if not names:
            return
        listed = _reportgen_manifest_files(folder)
        if listed is None:
            what = ("a manifest.json that is not reportgen's" if MANIFEST_FILE in names
                    else f"'{names[0]}' and no reportgen manifest.json")
            raise OutputError(errno.EEXIST, f"{folder} is not empty and not a report "
                              f"(it holds {what}); reportgen replaces only an empty folder "
                              "or a report it wrote")
        unlisted = _first_unlisted(folder, listed)
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(exc.errno or errno.EACCES,
                          f"cannot read {folder} ({exc.strerror})") from None
    if unlisted is not None:
        raise OutputError(errno.EEXIST, f"{folder} holds '{unlisted}', which is not "
                          "part of its report; move it away or choose another folder")


def _check_removable(folder: Path) -> None:
    """Refuse a folder whose contents we could not remove (read-only folders in it).

    Checked before the swap: once the new report is in place, a previous one that cannot
    be removed would be left behind.
    """

    def unreadable(exc: OSError) -> None:
        raise exc

    for root, _dirs, _files in os.walk(folder, onerror=unreadable):
        if not os.access(root, os.R_OK | os.W_OK | os.X_OK):
            where = os.path.relpath(root, folder)
            part = "" if where == "." else f" ('{where}' is read-only)"
            raise OutputError(errno.EACCES, f"{folder} cannot be replaced{part}: "
                              "permission denied; make it writable or choose another folder")


def _is_or_holds_working_directory(target: Path) -> bool:
    try:
        here = os.path.realpath(os.getcwd())
    except OSError:
        return False
    there = os.path.realpath(target)
    return here == there or here.startswith(there.rstrip(os.sep) + os.sep)


def check_target(target: Path, check: FolderCheck = check_report_folder) -> None:
    """Refuse a ``target`` that may not be replaced; a missing one is fine.

    Refused: a symbolic link, anything but a folder, the working directory or a folder
    holding it, a folder ``check`` refuses, a folder with read-only folders in it.

    Raises:
      OutputError: one line naming the folder.
    """
    if not target.name:
        raise OutputError(errno.EINVAL, f"{target} cannot be a report folder")
    try:
        info = target.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return  # prepare_parent says what is wrong with a parent
    except OSError as exc:
        raise OutputError(exc.errno or errno.EINVAL,
                          f"cannot use {target} ({exc.strerror})") from None
    if stat.S_ISLNK(info.st_mode):
        raise OutputError(errno.EEXIST, f"{target} is a symbolic link (to "
                          f"{os.readlink(target)}); give a real folder or a new path")
    if not stat.S_ISDIR(info.st_mode):
        raise OutputError(errno.ENOTDIR, f"{target} exists and is not a folder")
    if _is_or_holds_working_directory(target):
        raise OutputError(errno.EBUSY, f"{target} is the working directory or holds "
                          "it; choose a folder of its own")
    check(target)
    try:
        _check_removable(target)
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(exc.errno or errno.EACCES,
                          f"cannot read {target} ({exc.strerror})") from None


# ---------------------------------------------------------------- locking and parents


@contextlib.contextmanager
def locked(target: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the build lock of ``target``, waiting up to ``wait`` seconds for another build.

    When the lock stays busy an ``OutputError`` says so; two builds never write the same
    folder at once. The lock is ``flock`` on ``lock_path(target)``, so the kernel
    releases it when a build dies, even by SIGKILL.
    """
    path = lock_path(target)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise OutputError(exc.errno or errno.EACCES,
                          f"cannot write in {target.parent} ({exc.strerror})") from None
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise OutputError(
                        errno.EBUSY,
                        f"another build is writing {target}; try again when it is done",
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


def prepare_parent(target: Path) -> None:
    """Create the target's parent folder, with a clear error when it cannot be written."""
    for ancestor in target.parents:
        if os.path.exists(ancestor):
            if not ancestor.is_dir():
                raise OutputError(errno.ENOTDIR, f"{ancestor} is a file, not a folder")
            break
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(exc.errno or errno.EACCES,
                          f"cannot create {target.parent} ({exc.strerror})") from None
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise OutputError(errno.EACCES, f"{target.parent} is not writable")


def preflight(target: Path, check: FolderCheck = check_report_folder) -> None:
    """Fail early, before minutes of compute, when ``target`` may not be written or is busy.

    ``atomic_folder`` checks all of this again under the lock; this only moves the
    error to the start of a build. A refused target gets no lock file and no parents.
    """
    target = Path(os.path.abspath(target))
    check_target(target, check)
    prepare_parent(target)
    with locked(target):
        pass


# ---------------------------------------------------------------- the atomic write


def remove_tree(path: Path) -> None:
    """Remove a folder we made (staging, or a report being replaced), read-only parts too."""
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        return
    except OSError:
        with contextlib.suppress(OSError):
            os.chmod(path, 0o700)
        for root, dirs, _files in os.walk(path):  # each folder is listed before entered
            for name in dirs:
                with contextlib.suppress(OSError):
                    os.chmod(os.path.join(root, name), 0o700, follow_symlinks=False)
        shutil.rmtree(path)


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


def _libc_renameat2() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                         ctypes.c_uint]
    return function


def _swap(staged: Path, target: Path) -> Path | None:
    """Put ``staged`` at ``target``; returns where the previous report now is, if any.

    On an error nothing has changed: the previous report is still at ``target``.
    """
    if not os.path.lexists(target):
        staged.rename(target)
        return None
    if exchange(staged, target):
        return staged  # now holds the previous report
    retired = target.with_name(retired_name(target, secrets.token_hex(_TOKEN_LENGTH // 2)))
    target.rename(retired)
    try:
        staged.rename(target)
    except BaseException:
        retired.rename(target)
        raise
    return retired


@contextlib.contextmanager
def atomic_folder(target: Path, check: FolderCheck = check_report_folder) -> Iterator[Path]:
    """Yield an empty staging folder; on success it replaces ``target`` atomically.

    ``target`` must be missing or a folder that ``check_target(target, check)`` accepts
    (by default: empty, or a report reportgen wrote); it is checked before anything is
    written, again under the lock, and once more just before the swap. On any error, an
    interrupt or a signal recorded by ``interrupts`` (even one whose exception was
    swallowed) the staging folder is removed and the previous report at ``target`` stays
    exactly as it was. A full disk or a read-only file system becomes an ``OutputError``
    that names the folder. A build that reaches this point while another writes the same
    folder waits for it (the last to finish wins).
    """
    target = Path(os.path.abspath(target))
    check_target(target, check)
    prepare_parent(target)
    with locked(target, wait=WRITE_LOCK_WAIT_S):
        clear_leftovers(target)
        check_target(target, check)
        try:
            staged = _make_staging(target)
        except OSError as exc:
            raise _write_error(exc, target) from None
        try:
            yield staged
            sync_tree(staged)
            interrupts.check()
            check_target(target, check)
            with interrupts.deferred():
                previous = _swap(staged, target)
        except BaseException as exc:
            with interrupts.deferred(), contextlib.suppress(OSError):
                remove_tree(staged)
            if isinstance(exc, OSError) and _is_write_failure(exc, staged):
                raise _write_error(exc, target) from exc
            raise
        if previous is not None:
            with interrupts.deferred():
                try:
                    remove_tree(previous)
                except OSError as exc:
                    raise OutputError(
                        exc.errno or errno.EIO,
                        f"the new report is in {target}, but the previous one could "
                        f"not be removed from {previous.name} ({exc.strerror}); the next "
                        "build there removes it") from None
    interrupts.check(outcome=f"the new report was already in {target}")


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
                       f"cannot write {target} ({exc.strerror or exc}); {kept}")


def sync_tree(folder: Path) -> None:
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


def write_folder(
    target: Path, files: Mapping[str, bytes], check: FolderCheck = check_report_folder
) -> None:
    """Replace the folder ``target`` atomically with exactly ``files``.

    ``check`` decides what an existing ``target`` may hold to be replaced (default: a
    report reportgen wrote, or nothing).
    """
    with atomic_folder(target, check) as staged:
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
