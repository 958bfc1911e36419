"""Reading the course's files safely: bounded, regular files only, names shown escaped.

Rosters, salts, batch.json, answer keys and submissions come from users (and from
students): a FIFO would block a reader for ever, ``/dev/zero`` would fill the memory, a
file name with a newline or an escape sequence could forge a line of output or drive the
terminal. Every such file is opened without blocking, checked to be a regular file (a
symlink is followed, so a link to a device is refused too) and read up to a bound before
anything else happens; names are printed with their control characters escaped.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from pathlib import Path

from reportgen.config import ConfigError

_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


class NotReadable(ConfigError):
    """A course file that is not a readable regular file of the expected size; the message
    (one line) names it."""


_SIMPLE = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    code = ord(char)
    if char in _SIMPLE:
        return _SIMPLE[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def shown(name: object) -> str:
    """A file name (or any text) as it may be printed: control, format and line-breaking
    characters escaped (``\\n``, ``\\x1b``, ``\\u202e``), so it stays one harmless line."""
    return "".join(_escape(char) if unicodedata.category(char) in _HIDDEN else char
                   for char in str(name))


#: Unicode categories that do not print as themselves: controls, format characters
#: (zero-width, bidirectional overrides), line and paragraph separators, surrogates,
#: private use and unassigned code points.
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_bounded(path: Path, limit: int, what: str) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Raises:
      NotReadable: ``path`` is missing, not a regular file (a FIFO, a device, a folder, or
        a link to one: refused before a byte is read), larger than ``limit``, or cannot be
        read; the message starts with ``what``.
    """
    name = shown(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise NotReadable(f"{what}: no such file {name}") from None
    except OSError as exc:
        raise NotReadable(f"{what}: cannot read {name} ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as stream:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise NotReadable(f"{what}: {name} is {_kind(info.st_mode)}, not a file")
        if info.st_size > limit:
            raise NotReadable(f"{what}: {name} has {info.st_size:,} bytes; expected at most "
                              f"{limit:,}")
        try:
            data = stream.read(limit + 1)
        except OSError as exc:
            raise NotReadable(f"{what}: cannot read {name} ({exc.strerror})") from None
    if len(data) > limit:
        raise NotReadable(f"{what}: {name} has more than {limit:,} bytes")
    return data


def read_text(path: Path, limit: int, what: str) -> str:
    """:func:`read_bounded` as UTF-8 text (a leading byte-order mark dropped).

    Raises:
      NotReadable: as :func:`read_bounded`, or the file is not UTF-8.
    """
    try:
        return read_bounded(path, limit, what).decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise NotReadable(f"{what}: {shown(path)} is not UTF-8 text") from None
