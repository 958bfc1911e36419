"""``reportgen init``: a new handout folder to start from.

Writes a commented config with every section, the JSON Schema that editors read through
its ``#:schema`` line, and a ``templates/`` folder with one overridable template and a
note on how overriding works. It never overwrites a file, and writes all of its files or
none: every path is checked before the first is written, and a write that fails midway
removes what it wrote.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path

from reportgen.config import ConfigError, json_schema_text
from reportgen.store.paths import templates_dir

CONFIG_FILE = "handout.toml"
SCHEMA_FILE = "reportgen.schema.json"
#: The shipped template a new folder gets a copy of, to show how overriding works.
EXAMPLE_TEMPLATE = "partials/provenance.html"


def files() -> dict[str, str]:
    """The files of a new handout folder, by relative path."""
    shipped = templates_dir()
    return {
        CONFIG_FILE: (shipped / "scaffold" / CONFIG_FILE).read_text(encoding="utf-8"),
        SCHEMA_FILE: json_schema_text(),
        "templates/README.md": (shipped / "scaffold" / "README.md").read_text(encoding="utf-8"),
        f"templates/{EXAMPLE_TEMPLATE}": (shipped / EXAMPLE_TEMPLATE).read_text(encoding="utf-8"),
    }


def check_writable(folder: Path, names: Mapping[str, str], what: str = "init") -> None:
    """Refuse, before anything is written, when one of ``names`` cannot be created new
    inside ``folder``: the file exists, or a folder on its way is a file or a link.

    Raises:
      ConfigError: naming the first path in the way.
    """
    if os.path.lexists(folder) and not folder.is_dir():
        raise ConfigError(f"{what}: {folder} is not a folder; expected a folder (or nothing) "
                          f"there")
    for name in names:
        path = folder / name
        for parent in reversed(path.relative_to(folder).parents[:-1]):
            between = folder / parent
            if between.is_symlink() or (os.path.lexists(between) and not between.is_dir()):
                raise ConfigError(f"{what}: {between} is in the way: expected a folder "
                                  f"(or nothing) there; nothing was written")
        if os.path.lexists(path):
            raise ConfigError(f"{what}: {path} already exists; reportgen {what} never "
                              f"overwrites a file (choose an empty folder)")


def write_new(folder: Path, planned: Mapping[str, str], private: frozenset[str] = frozenset(),
              what: str = "init") -> list[Path]:
    """Write ``planned`` (text by relative path) into ``folder``: all files or none.

    Every path is checked first (``check_writable``); files are created exclusively, and
    if one cannot be written, the files and folders written so far are removed again.
    Names in ``private`` are readable by their owner only. Returns the paths written.

    Raises:
      ConfigError: a path is in the way, or writing failed (a full disk, no permission).
    """
    check_writable(folder, planned, what)
    made_dirs: list[Path] = []
    written: list[Path] = []
    path = folder
    try:
        for name, text in planned.items():
            path = folder / name
            for parent in reversed([path.parent, *path.parent.parents]):
                if not os.path.lexists(parent):
                    parent.mkdir()
                    made_dirs.append(parent)
            mode = 0o600 if name in private else 0o666
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            written.append(path)
            with open(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
    except BaseException as exc:
        for done in reversed(written):
            done.unlink(missing_ok=True)
        for made in reversed(made_dirs):
            # something else appeared in it meanwhile: not ours to remove
            with contextlib.suppress(OSError):
                made.rmdir()
        if isinstance(exc, OSError):
            where = exc.filename or path
            raise ConfigError(f"{what}: cannot write {where} ({exc.strerror or exc}); "
                              f"nothing was written") from None
        raise
    return written


def scaffold(folder: Path) -> list[Path]:
    """Write a new handout folder into ``folder``; returns the files written.

    Raises:
      ConfigError: a file exists, or a path on the way is not a folder (nothing is
        written then).
    """
    return write_new(folder, files())
