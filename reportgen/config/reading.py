"""Finding and reading a config file: a path or a shipped handout's name, read without
blocking, bounded in size, checked for shape, then parsed as TOML.

A FIFO or a device is named rather than opened or read, a file over ``MAX_CONFIG_BYTES``
is refused, and every error is one ``ConfigError`` line naming the file.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any

from reportgen.config.errors import ConfigError
from reportgen.config.limits import DEFAULT_HANDOUT, MAX_CONFIG_BYTES
from reportgen.config.shape import toml_shape_error
from reportgen.shipped import reports_dir, shipped_handouts

_FILE_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_a_file(spec: object, mode: int) -> ConfigError:
    kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
    return ConfigError(f"config: '{spec}' is {kind}, not a file; expected a TOML file")


def _mode(path: Path) -> int | None:
    """``path``'s file mode, or None when there is nothing there (or it cannot be named)."""
    try:
        return path.stat().st_mode
    except (OSError, ValueError):
        return None


def resolve_path(spec: str | os.PathLike[str] | None) -> Path:
    """A config path from a path or the name of a shipped handout (default: source-notebook)."""
    if spec is None:
        spec = DEFAULT_HANDOUT
    path = Path(spec)
    mode = _mode(path)
    if mode is not None and stat.S_ISDIR(mode):
        raise ConfigError(f"config: '{spec}' is a directory; expected a TOML file")
    if mode is not None and stat.S_ISREG(mode):
        return path
    if mode is not None:  # a FIFO or a device: never opened (a FIFO would block)
        raise _not_a_file(spec, mode)
    shipped = reports_dir() / f"{spec}.toml"
    if "/" not in str(spec) and shipped.is_file():
        return shipped
    names = ", ".join(shipped_handouts())
    raise ConfigError(f"config: no such file or shipped handout '{spec}' (shipped: {names})")


def config_name(spec: str | os.PathLike[str] | None) -> str:
    """The handout's name: the shipped name or the TOML file's stem."""
    return resolve_path(spec).stem


def read_text(path: Path) -> str:
    """A config file's text: a regular file of at most ``MAX_CONFIG_BYTES`` of UTF-8.

    The file is opened without blocking and checked to be a regular file before anything
    is read, so a FIFO or a device (``/dev/zero``) is named rather than read; a leading
    byte-order mark (as Windows editors write) is dropped.
    """
    data = _read_bytes(path)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path.name}: expected a config of at most {MAX_CONFIG_BYTES:,} "
                          f"bytes, got {_size(path, len(data))}")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise ConfigError(f"{path.name}: expected UTF-8 text") from None


def _read_bytes(path: Path) -> bytes:
    """At most ``MAX_CONFIG_BYTES + 1`` bytes of a regular file, opened without blocking."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as stream:
        mode = os.fstat(stream.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise _not_a_file(path, mode)
        try:
            return stream.read(MAX_CONFIG_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None


def _size(path: Path, read: int) -> str:
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return f"{size:,}" if size >= read else f"more than {read - 1:,}"


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; syntax errors name the file, line and column."""
    return parse_toml(read_text(path), path.name)


def parse_toml(text: str, source: str = "config") -> dict[str, Any]:
    """Parse TOML text after a linear check of its shape, so that a hostile nesting is
    refused rather than recursed into. Errors are ``ConfigError`` lines naming ``source``."""
    too_deep = toml_shape_error(text)
    if too_deep is not None:
        raise ConfigError(f"{source}: {too_deep}")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: {_toml_syntax(exc)}") from None
    except RecursionError:  # the scan above makes this unreachable; a backstop
        raise ConfigError(f"{source}: invalid TOML: nested too deeply") from None


def _toml_syntax(exc: tomllib.TOMLDecodeError) -> str:
    """tomllib's message with the place first: ``line 2, column 6: invalid TOML: expected ...``."""
    text = str(exc)
    found = re.search(r"\s*\(at (line \d+, column \d+|end of document)\)$", text)
    if found is None:
        return f"invalid TOML: {text}"
    what = text[: found.start()]
    return f"{found.group(1)}: invalid TOML: {what[:1].lower()}{what[1:]}"
