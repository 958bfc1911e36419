"""Starting points: ``reportgen init``, ``list`` and ``templates``.

``init`` writes a commented config with every section, the JSON Schema that editors read
through its ``#:schema`` line, and a ``templates/`` folder with one overridable template
and a note on how overriding works; ``init --from NAME`` copies a shipped handout or batch
instead (its config, the roster it names, the schema; for a course a fresh random salt).
``list`` names the shipped handouts, ``templates copy`` copies a shipped template out to
override it. Nothing here overwrites a file, and each writes all of its files or none:
every path is checked before the first is written, and a write that fails midway removes
what it wrote.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from reportgen.config import ConfigError, json_schema_text
from reportgen.shipped import reports_dir, shipped_handouts, shipped_templates, templates_dir

CONFIG_FILE = "handout.toml"
SCHEMA_FILE = "reportgen.schema.json"
#: The shipped template a new folder gets a copy of, to show how overriding works.
EXAMPLE_TEMPLATE = "partials/provenance.html"
#: A course's secret (random, 32 bytes as hex), kept out of version control by .gitignore.
SALT_FILE = ".salt"
GITIGNORE = ".gitignore"


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
                          f"there; nothing was written")
    for name in names:
        path = folder / name
        for parent in reversed(path.relative_to(folder).parents[:-1]):
            between = folder / parent
            if between.is_symlink() or (os.path.lexists(between) and not between.is_dir()):
                raise ConfigError(f"{what}: {between} is in the way: expected a folder "
                                  f"(or nothing) there; nothing was written")
        if os.path.lexists(path):
            raise ConfigError(f"{what}: {path} already exists; reportgen {what} never "
                              f"overwrites a file (move it away, or choose another folder)")


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


def scaffold(folder: Path, source: str | None = None) -> list[Path]:
    """Write a new handout folder into ``folder``, or a copy of the shipped handout
    ``source`` (``files_from``); returns the files written.

    Raises:
      ConfigError: an unknown ``source``, a file that exists, or a path on the way that is
        not a folder (nothing is written then).
    """
    if source is None:
        return write_new(folder, files())
    return write_new(folder, files_from(source), private=frozenset({SALT_FILE}))


# ---------------------------------------------------------------- shipped handouts


@dataclass(frozen=True)
class Shipped:
    """A shipped handout or batch: its name, the command that makes it, and what it is."""

    name: str
    command: str  # "build" or "batch"
    title: str
    makes: str  # "a handout", "6 variants ([matrix])", "a handout per student of 4 ..."


def _shipped_config(name: str) -> tuple[str, dict]:
    """The text and the TOML data of the shipped config ``name``."""
    if name not in shipped_handouts():
        raise ConfigError(f"--from: expected a shipped handout ({', '.join(shipped_handouts())}),"
                          f" got {name!r}")
    text = (reports_dir() / f"{name}.toml").read_text(encoding="utf-8")
    return text, tomllib.loads(text)


def _roster_size(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as handle:
        return sum(1 for row in csv.DictReader(handle) if row)


def describe(name: str) -> Shipped:
    """What the shipped config ``name`` makes, read from its TOML (not computed)."""
    _text, data = _shipped_config(name)
    matrix = {key: value for key, value in data.get("matrix", {}).items() if key != "mode"}
    students = data.get("students")
    parts = []
    if matrix:
        zipped = data["matrix"].get("mode") == "zip"
        count = (len(next(iter(matrix.values()))) if zipped
                 else math.prod(len(values) for values in matrix.values()))
        parts.append(f"{count} variants of {', '.join(matrix)}")
    if students:
        size = _roster_size(reports_dir() / students["roster"])
        exercises = len(data.get("exercises", []))
        parts.append(f"a handout per student of a {size}-student roster, {exercises} "
                     f"exercise{'s' if exercises != 1 else ''}")
    command = "batch" if parts else "build"
    return Shipped(name, command, str(data.get("title", "")), "; ".join(parts) or "a handout")


def files_from(name: str) -> dict[str, str]:
    """The files of a folder started from the shipped handout or batch ``name``: its
    config (under its own name), the roster it names, the schema its ``#:schema`` line
    points to, and for a course a fresh random salt in ``.salt``, which ``.gitignore``
    keeps out of version control.

    The shipped course's config names that file (``salt_file = ".salt"``), so the copy
    is a course of its own at once: its salt is secret, and no student file holds it.
    """
    text, data = _shipped_config(name)
    planned = {f"{name}.toml": text, SCHEMA_FILE: json_schema_text()}
    students = data.get("students")
    if students:
        roster = str(students["roster"])
        planned[roster] = (reports_dir() / roster).read_text(encoding="utf-8")
        planned[SALT_FILE] = secrets.token_hex(32) + "\n"
        planned[GITIGNORE] = ("# the secret that seeds each student's data: never commit or "
                              f"share it\n{SALT_FILE}\n")
    return planned


# ---------------------------------------------------------------- templates


def copy_template(name: str, folder: Path) -> Path:
    """Copy the shipped template ``name`` into ``folder`` under the same relative name,
    so that ``--templates folder`` overrides it; returns the file written.

    Raises:
      ConfigError: an unknown name, or the file exists (nothing is written then).
    """
    if name not in shipped_templates():
        raise ConfigError(f"templates copy: expected a shipped template (reportgen templates "
                          f"list), got {name!r}")
    text = (templates_dir() / name).read_text(encoding="utf-8")
    return write_new(folder, {name: text}, what="templates copy")[0]
