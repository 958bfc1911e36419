"""A stored report read back: its results, manifest and config, and its files checked.

A report folder's ``results.json``, ``manifest.json`` and ``config.toml``, or the same
three attached to a handout PDF, read as :class:`StoredReport`; and the folder's files
checked against the manifest's sha256 list. Only regular files inside the folder count: a
symbolic link, or a name that is absolute or climbs out with ``..``, is never followed.
Malformed input is a :class:`~reportgen.config.ConfigError` with one readable line.

``reportgen verify`` (:mod:`reportgen.verification`) and a batch's reuse check
(:mod:`reportgen.course.batch`) both read reports through this module.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import stat
from pathlib import Path
from typing import Any, NamedTuple

from reportgen.config import ConfigError
from reportgen.layout import CONFIG_FILE
from reportgen.store import manifest as manifest_io
from reportgen.store.manifest import MANIFEST_FILE
from reportgen.store.results import RESULTS_FILE
from reportgen.store.results import SCHEMA as RESULTS_SCHEMA


class StoredReport(NamedTuple):
    """What a report carries: its results, manifest and config text, and its folder.

    ``pdf`` holds the PDF's own bytes when a handout PDF is verified alone. ``results`` is
    None for a student copy of a handout with exercises, which carries its config only.
    """

    results: dict[str, Any] | None
    manifest: dict[str, Any] | None
    config_toml: str | None
    folder: Path | None
    pdf: bytes | None = None


class NotInside(Exception):
    """A path that is not a regular file inside the report folder; says what it is."""


def read_inside(folder: Path, name: str) -> bytes:
    """The bytes of the regular file ``name`` (a relative POSIX path) inside ``folder``.

    No symbolic link is followed, neither the file nor a folder on the way.

    Raises:
      FileNotFoundError: there is no such file.
      NotInside: ``name`` is absolute, climbs out, or is a link or not a regular file.
    """
    parts = name.split("/")
    if not name or "\0" in name or any(part in ("", ".", "..") for part in parts):
        raise NotInside("not a path inside the report folder")
    current = folder
    for part in parts[:-1]:
        current = current / part
        info = current.lstat()  # FileNotFoundError: missing
        if stat.S_ISLNK(info.st_mode):
            raise NotInside(f"its folder '{current.relative_to(folder)}' is a symbolic link")
        if not stat.S_ISDIR(info.st_mode):
            raise FileNotFoundError(errno.ENOENT, "not a folder", str(current))
    try:
        fd = os.open(folder / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotInside("a symbolic link, not a file in the report folder") from None
        raise
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise NotInside("not a regular file")
        return handle.read()


def parse_json(data: bytes, what: str) -> dict[str, Any]:
    """JSON bytes that must hold an object; anything else is one readable line."""
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ConfigError(f"verify: {what} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"verify: {what} holds no JSON object")
    return value


def parse_results(data: bytes, what: str) -> dict[str, Any]:
    """A results.json's data, checked to be reportgen's and to record its config."""
    results = parse_json(data, what)
    if results.get("schema") != RESULTS_SCHEMA:
        schema = short_json(results.get("schema"))
        raise ConfigError(f"verify: {what} is not reportgen's results "
                          f"(schema {schema}, expected {RESULTS_SCHEMA})")
    if not isinstance(results.get("config"), dict):
        raise ConfigError(f"verify: {what} records no config table "
                          f"(config is {short_json(results.get('config'))})")
    return results


def parse_manifest(data: bytes, what: str) -> dict[str, Any]:
    """A manifest.json's data, checked to be reportgen's and of the right shape."""
    record = parse_json(data, what)
    if record.get("schema") != manifest_io.SCHEMA:
        raise ConfigError(f"verify: {what} is not reportgen's manifest "
                          f"(schema {short_json(record.get('schema'))})")
    files = record.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(name, str) and isinstance(digest, str) for name, digest in files.items()
    ):
        raise ConfigError(f"verify: {what}: files is not a table of file names and sha256 "
                          f"digests (it is {short_json(files)})")
    if not isinstance(record.get("environment"), dict):
        raise ConfigError(f"verify: {what}: environment is not a table "
                          f"(it is {short_json(record.get('environment'))})")
    return record


def _text(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"verify: {what} is not UTF-8 text ({exc.reason} at byte "
                          f"{exc.start})") from None


def read_folder(folder: Path) -> StoredReport:
    """A report folder's results, manifest and config (regular files in it only)."""

    def member(name: str, required: bool = False) -> bytes | None:
        try:
            return read_inside(folder, name)
        except FileNotFoundError:
            if required:
                raise ConfigError(f"verify: {folder} holds no {name}; expected a report "
                                  "folder") from None
            return None
        except NotInside as exc:
            raise ConfigError(f"verify: {folder / name} is {exc}") from None
        except OSError as exc:
            raise ConfigError(f"verify: cannot read {folder / name} ({exc.strerror})") from None

    results = member(RESULTS_FILE)
    record = member(MANIFEST_FILE)
    config = member(CONFIG_FILE, required=results is None)
    return StoredReport(
        parse_results(results, str(folder / RESULTS_FILE)) if results is not None else None,
        parse_manifest(record, str(folder / MANIFEST_FILE)) if record is not None else None,
        _text(config, str(folder / CONFIG_FILE)) if config is not None else None,
        folder,
    )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def read_pdf(path: Path) -> StoredReport:
    """A handout PDF's attached results, manifest and config, and its own bytes."""
    from pypdf import PdfReader

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"verify: cannot read {path} ({exc.strerror})") from None
    try:
        attachments = PdfReader(io.BytesIO(data)).attachments
        wanted = (RESULTS_FILE, MANIFEST_FILE, CONFIG_FILE)
        attached = {name: found[0] for name in wanted if (found := attachments.get(name))}
    except Exception as exc:  # pypdf raises many kinds on malformed or hostile input
        raise ConfigError(f"verify: {path} is not a readable PDF ({type(exc).__name__}: "
                          f"{_one_line(exc)})") from None
    if RESULTS_FILE not in attached and CONFIG_FILE not in attached:
        raise ConfigError(f"verify: {path} carries no {RESULTS_FILE} or {CONFIG_FILE} "
                          f"attachment")
    record, config = attached.get(MANIFEST_FILE), attached.get(CONFIG_FILE)
    results = attached.get(RESULTS_FILE)
    return StoredReport(
        parse_results(results, f"{path}:{RESULTS_FILE}") if results is not None else None,
        parse_manifest(record, f"{path}:{MANIFEST_FILE}") if record is not None else None,
        _text(config, f"{path}:{CONFIG_FILE}") if config is not None else None,
        None,
        data,
    )


def read_report(path: Path) -> StoredReport:
    """A report from a folder or a handout PDF."""
    if path.is_dir():
        return read_folder(path)
    if path.is_file() and path.suffix.lower() == ".pdf":
        return read_pdf(path)
    raise ConfigError(f"verify: expected a report folder or a handout PDF, got '{path}'")


def short_json(value: Any) -> str:
    """A JSON value in at most 60 characters, for one-line messages."""
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def folder_files(folder: Path) -> tuple[list[str], list[str]]:
    """The regular files under ``folder`` (relative POSIX paths), and every other entry
    (symbolic links, FIFOs...), neither followed."""
    files, others = [], []
    for root, dirs, names in os.walk(folder):
        base = Path(root).relative_to(folder)
        for name in sorted([*dirs, *names]):
            path = Path(root) / name
            relative = (base / name).as_posix()
            if path.is_symlink():
                others.append(relative)
            elif path.is_file():
                files.append(relative)
            elif not path.is_dir():
                others.append(relative)
    return sorted(files), sorted(others)


def compare_files(report: StoredReport) -> list[str]:
    """Files whose sha256 differs from the manifest's, or that are missing, extra, or not
    regular files inside the folder."""
    if report.folder is None or report.manifest is None:
        return []
    recorded: dict[str, str] = report.manifest["files"]
    problems = []
    for name, digest in sorted(recorded.items()):
        try:
            data = read_inside(report.folder, name)
        except NotInside as exc:
            problems.append(f"{name}: {exc} (the manifest lists it)")
            continue
        except FileNotFoundError:
            problems.append(f"{name}: missing (the manifest lists it)")
            continue
        except OSError as exc:
            problems.append(f"{name}: unreadable ({exc.strerror})")
            continue
        if hashlib.sha256(data).hexdigest() != digest:
            problems.append(f"{name}: sha256 differs from the manifest's")
    files, others = folder_files(report.folder)
    problems += [f"{name}: not in the manifest" for name in files
                 if name != MANIFEST_FILE and name not in recorded]
    problems += [f"{name}: a symbolic link or special file (a report holds regular files only)"
                 for name in others if name not in recorded]
    return problems
