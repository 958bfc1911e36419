"""``reportgen verify``: re-derive a report from its own config and compare.

A report folder is checked file by file against its manifest's sha256 list, and every
number in its results.json against a fresh computation. A handout PDF alone carries
``config.toml``, ``results.json`` and ``manifest.json`` as attachments and is checked
the same way. Numbers must match exactly on the platform and versions that built the
report; elsewhere within a tolerance stated in the output.

Every claim marked in the report's ``index.html`` (``data-claim``: a sentence about the
numbers, its arguments and its verdict) is re-evaluated on the recomputed results
(``reportgen.claims``): a different verdict, an unknown claim or arguments it does not
take are differences, and the output says how many claims matched.

Where the platform and versions are the ones that built the report, the report is also
rebuilt in memory from the recomputed results (``pipeline.report_files``) and every file
compared byte for byte with it: ``index.html`` and ``handout.pdf`` included, so a change
to a page of the PDF is found, not only a change to its attachments. Elsewhere, or for a
report made with custom templates, the output says that nothing was rebuilt and why.

Only regular files inside the folder count: a symbolic link, or a manifest entry that is
absolute or climbs out with ``..``, is a difference, never followed. A report that cannot
be read as one (malformed JSON or PDF, a manifest of the wrong shape, text that is not
UTF-8, a results.json that is a link) is bad input: one line, exit code 2.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import math
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, NamedTuple

from reportgen import claims, pipeline
from reportgen.config import Config, ConfigError, parse_toml, validate
from reportgen.layout import CONFIG_FILE, HTML_FILE, PDF_FILE
from reportgen.render import FORMAT_FILES
from reportgen.store import manifest as manifest_io
from reportgen.store.manifest import BATCH_FILE, BATCH_SCHEMA, MANIFEST_FILE, environment
from reportgen.store.results import RESULTS_FILE
from reportgen.store.results import SCHEMA as RESULTS_SCHEMA

MAX_SHOWN = 20


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


class Tolerance(NamedTuple):
    """How closely recomputed numbers must match, and why."""

    rtol: float
    atol: float
    reason: str


# ---------------------------------------------------------------- reading a report


class NotInside(Exception):
    """A path that is not a regular file inside the report folder; says what it is."""


def _silent(_stage: str) -> None:
    """A progress callback that shows nothing."""


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


def _json(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ConfigError(f"verify: {what} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"verify: {what} holds no JSON object")
    return value


def parse_results(data: bytes, what: str) -> dict[str, Any]:
    """A results.json's data, checked to be reportgen's and to record its config."""
    results = _json(data, what)
    if results.get("schema") != RESULTS_SCHEMA:
        raise ConfigError(f"verify: {what} is not reportgen's results "
                          f"(schema {_short(results.get('schema'))}, expected {RESULTS_SCHEMA})")
    if not isinstance(results.get("config"), dict):
        raise ConfigError(f"verify: {what} records no config table "
                          f"(config is {_short(results.get('config'))})")
    return results


def parse_manifest(data: bytes, what: str) -> dict[str, Any]:
    """A manifest.json's data, checked to be reportgen's and of the right shape."""
    record = _json(data, what)
    if record.get("schema") != manifest_io.SCHEMA:
        raise ConfigError(f"verify: {what} is not reportgen's manifest "
                          f"(schema {_short(record.get('schema'))})")
    files = record.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(name, str) and isinstance(digest, str) for name, digest in files.items()
    ):
        raise ConfigError(f"verify: {what}: files is not a table of file names and sha256 "
                          f"digests (it is {_short(files)})")
    if not isinstance(record.get("environment"), dict):
        raise ConfigError(f"verify: {what}: environment is not a table "
                          f"(it is {_short(record.get('environment'))})")
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


# ---------------------------------------------------------------- comparing numbers


def walk(stored: Any, fresh: Any, where: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Pairs of leaves at the same path; a structural difference is yielded as a leaf.

    The schema only ever grows: a key that the stored report lacks but a newer reportgen
    computes (such as a mini-batch run's ``shuffles``) is not a difference; every key the
    report has is compared (and results.json's own hash is checked against the manifest).
    """
    if isinstance(stored, dict) and isinstance(fresh, dict):
        for key in sorted(stored):
            path = f"{where}.{key}" if where else key
            yield from walk(stored[key], fresh.get(key, "<missing>"), path)
    elif isinstance(stored, list) and isinstance(fresh, list) and len(stored) == len(fresh):
        for index, (a, b) in enumerate(zip(stored, fresh, strict=True)):
            yield from walk(a, b, f"{where}[{index}]")
    else:
        yield where, stored, fresh


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def differs(stored: Any, fresh: Any, tolerance: Tolerance) -> bool:
    """Whether two leaves differ beyond the tolerance (exact for non-numbers)."""
    if _is_number(stored) and _is_number(fresh):
        if tolerance.rtol == 0 and tolerance.atol == 0:
            return bool(stored != fresh)
        return not math.isclose(stored, fresh, rel_tol=tolerance.rtol, abs_tol=tolerance.atol)
    return bool(stored != fresh)


def describe(path: str, stored: Any, fresh: Any) -> str:
    """One line for one difference."""
    if _is_number(stored) and _is_number(fresh):
        scale = max(abs(stored), abs(fresh), 1e-300)
        return (f"{path}: stored {stored!r}, recomputed {fresh!r} "
                f"(relative difference {abs(stored - fresh) / scale:.2e})")
    return f"{path}: stored {_short(stored)}, recomputed {_short(fresh)}"


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def tolerance_for(stored_env: dict[str, Any] | None, fresh_env: dict[str, Any]) -> Tolerance:
    """Exact on the same platform and versions; else by precision and device."""
    keys = ("packages", "platform", "python", "jax_backend", "device_kind", "precision",
            "xla_flags", "reportgen")
    if stored_env is not None:
        changed = [k for k in keys if stored_env.get(k) != fresh_env.get(k)]
        if not changed:
            return Tolerance(0.0, 0.0, "exact: same platform, device and versions")
        reason = "differs: " + ", ".join(changed)
    else:
        reason = "no manifest to compare versions with"
    if fresh_env.get("precision") == "float32":
        return Tolerance(1e-4, 1e-6, f"float32 tolerance rtol=1e-4, atol=1e-6 ({reason})")
    return Tolerance(1e-9, 1e-12, f"float64 tolerance rtol=1e-9, atol=1e-12 ({reason})")


def compare_numbers(stored: dict, fresh: dict, tolerance: Tolerance) -> list[str]:
    """Every leaf of results.json that differs, as readable lines."""
    return [
        describe(path, a, b) for path, a, b in walk(stored, fresh) if differs(a, b, tolerance)
    ]


# ---------------------------------------------------------------- comparing files


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


def compare_config(report: StoredReport) -> list[str]:
    """The attached or written config.toml must be the config results.json records."""
    if report.config_toml is None or report.results is None:
        return []
    try:
        config = validate(parse_toml(report.config_toml, CONFIG_FILE), source=CONFIG_FILE)
    except ConfigError as exc:
        return [f"config.toml: unreadable ({exc})"]
    recorded = report.results.get("config") or {}
    # sections added since the report was made (``pdf``) are compared only when recorded
    normalised = {k: v for k, v in config.normalised().items() if k in recorded}
    if normalised != recorded:
        return ["config.toml: differs from the config recorded in results.json"]
    return []


def environment_changes(stored: Mapping[str, Any], fresh: Mapping[str, Any]) -> list[str]:
    """What differs between two manifest environments, packages by name."""
    changes = []
    for key in sorted(set(stored) | set(fresh)):
        old, new = stored.get(key), fresh.get(key)
        if old == new:
            continue
        if key == "packages" and isinstance(old, dict) and isinstance(new, dict):
            changes += [f"{name} {old.get(name)} -> {new.get(name)}"
                        for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name)]
        else:
            changes.append(f"{key} {_short(old)} -> {_short(new)}")
    return changes


def _first_difference(a: bytes, b: bytes) -> str:
    index = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                 min(len(a), len(b)))
    return f"first difference at byte {index}; {len(a)} bytes stored, {len(b)} rebuilt"


class Rebuild(NamedTuple):
    """A byte-for-byte comparison with a rebuild: its differences, and what it compared or
    why it compared nothing."""

    problems: list[str]
    compared: str | None
    skipped: str | None = None


def compare_rebuild(report: StoredReport, config: Config, computed: pipeline.Computed,
                    progress: pipeline.Progress = _silent) -> Rebuild:
    """Rebuild the report in memory from the recomputed results and compare every file.

    Only where the manifest's environment is exactly this one (platform, versions, git
    commit, device): elsewhere the bytes would differ for reasons that are not changes,
    and ``skipped`` says so.
    """
    what = "the PDF's own bytes" if report.pdf is not None else "the files' bytes"
    if report.manifest is None:
        return Rebuild([], None, f"{what} were not compared with a rebuild: no manifest "
                                 "records how the report was built")
    listed = set(report.manifest["files"])
    rendered = report.pdf is not None or bool(set(FORMAT_FILES.values()) & listed)
    if report.manifest.get(manifest_io.TEMPLATES) == manifest_io.CUSTOM_TEMPLATES:
        return Rebuild([], None, f"{what} were not compared with a rebuild: the report was "
                                 "made with custom templates (--templates), which it does "
                                 "not carry")
    render_env: dict[str, Any] | None = None
    if rendered:
        from reportgen.render.report import renderer_environment

        render_env = renderer_environment()
    changes = environment_changes(report.manifest["environment"],
                                  environment(computed.environment, render_env))
    if changes:
        shown = "; ".join(changes[:4]) + ("; ..." if len(changes) > 4 else "")
        return Rebuild([], None, f"{what} were not compared with a rebuild: it was built "
                                 f"elsewhere ({shown})")

    if report.pdf is not None:
        rebuilt = pipeline.report_files(config, computed, ("pdf",), progress=progress)[PDF_FILE]
        problems = [] if rebuilt == report.pdf else [
            f"{PDF_FILE}: differs from the PDF rebuilt from its config "
            f"({_first_difference(report.pdf, rebuilt)})"]
        return Rebuild(problems, "the PDF's own bytes with a rebuild")

    assert report.folder is not None
    formats = tuple(fmt for fmt, name in FORMAT_FILES.items() if name in listed)
    rebuilt_files = (pipeline.report_files(config, computed, formats, progress=progress)
                     if rendered else pipeline.compute_files(config, computed))
    progress("compare files")
    problems = []  # files the rebuild does not make: compare_files names them
    for name in sorted(rebuilt_files):
        try:
            data = read_inside(report.folder, name)
        except (OSError, NotInside):
            problems.append(f"{name}: missing, the rebuild makes it")
            continue
        if data != rebuilt_files[name]:
            problems.append(f"{name}: differs from the rebuilt file "
                            f"({_first_difference(data, rebuilt_files[name])})")
    made = [name for name in FORMAT_FILES.values() if name in rebuilt_files]
    pages = " and ".join([", ".join(made[:-1]), made[-1]] if len(made) > 2 else made)
    return Rebuild(problems, f"the bytes of every file ({len(rebuilt_files)}) with a rebuild"
                             + (f" ({pages} included)" if pages else ""))


# ---------------------------------------------------------------- the claims


#: ``data-holds`` as written by ``render.format.claim_html``.
VERDICTS: dict[str, bool | None] = {"yes": True, "no": False, "n/a": None}


class _ClaimMarks(HTMLParser):
    """Collects every ``data-claim`` mark of a page: its name, arguments and verdict."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.marks: list[dict[str, Any]] = []
        self.malformed: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        name = found.get("data-claim")
        if name is None:
            return
        try:
            args = json.loads(found.get("data-args") or "{}")
            holds = VERDICTS[found.get("data-holds") or ""]
        except (json.JSONDecodeError, KeyError, RecursionError):
            self.malformed.append(name[:60])
            return
        if not isinstance(args, dict):
            self.malformed.append(name[:60])
            return
        self.marks.append({"name": name, "args": args, "holds": holds})


class ClaimCheck(NamedTuple):
    """The claims of a report's page re-evaluated: how many were marked, how many matched,
    one line per difference; ``skipped`` says why none were checked."""

    marked: int
    matched: int
    problems: list[str]
    skipped: str | None = None


def compare_claims(report: StoredReport, computed: pipeline.Computed) -> ClaimCheck:
    """Re-evaluate every claim marked in the report's index.html on the recomputed results
    and compare names, arguments and verdicts with the marks."""
    if report.folder is None:
        return ClaimCheck(0, 0, [], "the PDF alone carries no claim marks")
    try:
        page = read_inside(report.folder, HTML_FILE)
    except (OSError, NotInside):
        return ClaimCheck(0, 0, [], f"no {HTML_FILE} to read claims from")
    parser = _ClaimMarks()
    parser.feed(page.decode("utf-8", errors="replace"))
    parser.close()
    matched, problems = claims.recheck(computed.results, parser.marks)
    problems = [f"{HTML_FILE}: {line}" for line in problems]
    problems += [f"{HTML_FILE}: claim {name}: a malformed mark" for name in parser.malformed]
    return ClaimCheck(len(parser.marks) + len(parser.malformed), matched, problems)


# ---------------------------------------------------------------- the verdict


@dataclass(frozen=True)
class Verification:
    """The outcome of re-deriving a report.

    Attributes:
      path: the report folder or PDF that was checked.
      ok: True when every compared number and file matches.
      differences: one readable line per difference (empty when ``ok``).
      compared: what was compared, in words (and what was not, and why).
      tolerance: how closely numbers had to match, and why.
      variants: for a batch folder, each variant's verification (else empty).
    """

    path: Path
    ok: bool
    differences: tuple[str, ...]
    compared: str
    tolerance: str
    variants: tuple[Verification, ...] = ()

    def summary(self) -> str:
        """The verdict in one line."""
        if self.ok:
            return f"reproduced: {self.compared}"
        return f"NOT reproduced: {len(self.differences)} difference(s); {self.compared}"


def check(path: Path, progress: pipeline.Progress = _silent) -> Verification:
    """Recompute the report at ``path`` from its own config and compare; ``progress`` is
    called with each stage's name as it starts (reading, computing, rendering, comparing).

    Raises:
      ConfigError: ``path`` is not a readable report.
    """
    progress("read report")
    report = read_report(path)
    config = stored_config(report)
    computed = pipeline.compute(config, use_cache=False, progress=progress)
    progress("compare numbers")
    stored_env = (report.manifest or {}).get("environment")
    tolerance = tolerance_for(stored_env, environment(computed.environment))
    problems = compare_config(report) + compare_files(report)
    if report.results is not None:
        problems += compare_numbers(report.results, computed.results.to_dict(), tolerance)
    progress("compare claims")
    claim_check = compare_claims(report, computed)
    problems += claim_check.problems
    rebuild = compare_rebuild(report, config, computed, progress)
    problems += rebuild.problems
    return Verification(Path(path), not problems, tuple(problems),
                        _compared(report, rebuild, claim_check),
                        f"config sha256 {config.digest()[:16]}, {tolerance.reason}")


def stored_config(report: StoredReport) -> Config:
    """The config a report was built from: results.json's, else its config.toml (a student
    copy carries no results)."""
    if report.results is not None:
        return validate(report.results["config"], source="results.json config")
    assert report.config_toml is not None
    return validate(parse_toml(report.config_toml, "verify: config.toml"),
                    source="config.toml")


def _compared(report: StoredReport, rebuild: Rebuild, claim_check: ClaimCheck) -> str:
    """What ``check`` compared, as one sentence (and what it did not, and why)."""
    attached = "the attached " if report.pdf is not None else ""
    if report.results is not None:
        parts = [f"every number of {attached}results.json with a recomputation"]
    elif rebuild.compared:  # a student copy: its numbers are in its pages only
        parts = [f"its numbers through a rebuild (a student copy carries no results.json: "
                 f"{attached}config.toml was recomputed)"]
    else:
        parts = ["no numbers (a student copy carries no results.json, and it was not "
                 "rebuilt)"]
    if report.folder is not None and report.manifest is not None:
        parts.append("every file's sha256 with manifest.json")
    if report.config_toml is not None and report.results is not None:
        parts.append(f"{attached}config.toml with results.json's config")
    if claim_check.skipped is None:
        parts.append(f"re-checked the {claim_check.marked} claims marked in {HTML_FILE} on the "
                     f"recomputed results ({claim_check.matched} matched)")
    if rebuild.compared:
        parts.append(rebuild.compared)
    return "compared " + "; ".join(parts) + (f"; {rebuild.skipped}" if rebuild.skipped else "")


def batch_variants(folder: Path) -> list[Path] | None:
    """The variant folders a batch folder's batch.json lists, or None for a plain report."""
    path = folder / BATCH_FILE
    if not folder.is_dir() or path.is_symlink() or not path.is_file():
        return None
    record = _json(path.read_bytes(), str(path))
    if record.get("schema") != BATCH_SCHEMA:
        return None
    rows = record.get("variants")
    if not isinstance(rows, list) or not all(isinstance(r, dict) and isinstance(r.get("id"), str)
                                             for r in rows):
        raise ConfigError(f"verify: {path} lists no variants; expected a reportgen batch")
    names = [row["id"] for row in rows]
    if not all(_inside(name) for name in names):
        raise ConfigError(f"verify: {path} names a variant outside the batch folder")
    return [folder / name for name in names]


#: The trees a course batch writes its copies into (``course.copies``).
COPY_TREES = ("students", "instructor")


def _inside(name: str) -> bool:
    """A variant's folder name: plain, or ``students/<plain>`` / ``instructor/<plain>``."""
    tree, _, rest = name.partition("/")
    plain = rest if tree in COPY_TREES and rest else name
    return Path(plain).name == plain and plain not in ("", ".", "..")


#: Opens a progress display for the report at a path; it closes before the verdict prints.
OpenDisplay = Callable[[Path], AbstractContextManager[pipeline.Progress]]


def _no_display(_path: Path) -> AbstractContextManager[pipeline.Progress]:
    return nullcontext(_silent)


def verify(path: Path, on_variant: Callable[[Verification], None] | None = None,
           display: OpenDisplay = _no_display) -> Verification:
    """Verify a report folder, a handout PDF, or every variant of a batch folder.

    The one place that tells a batch folder (its ``batch.json``, ``batch_variants``) from
    a report: ``reportgen verify`` and ``reportgen.verify`` both call it. A batch's
    verdict holds every variant's (``variants``, each also passed to ``on_variant`` as it
    is done); its differences are theirs, each led by the variant's id. ``display`` shows
    each report's stages while it is recomputed and rebuilt.

    Raises:
      ConfigError: ``path`` is missing, or is not a readable report or batch.
    """
    path = Path(path)
    if not os.path.lexists(path):
        raise ConfigError(f"verify: no such report folder or PDF: {path}")
    folders = batch_variants(path)
    if folders is None:
        with display(path) as progress:
            return check(path, progress)
    verdicts = []
    for folder in folders:
        if folder.exists():
            with display(folder) as progress:
                verdict = check(folder, progress)
        else:
            verdict = Verification(folder, False, ("missing (batch.json lists it)",),
                                   "nothing (the variant's folder is missing)", "none")
        if on_variant is not None:
            on_variant(verdict)
        verdicts.append(verdict)
    failed = [v.path.name for v in verdicts if not v.ok]
    return Verification(
        path, not failed,
        tuple(f"{v.path.name}: {line}" for v in verdicts for line in v.differences),
        f"every variant of the batch ({len(verdicts) - len(failed)} of {len(verdicts)} "
        "reproduced" + (f"; NOT reproduced: {', '.join(failed)}" if failed else "") + ")",
        "each variant's own (see variants)", tuple(verdicts))


def main(path: Path, quiet: bool = False, display: OpenDisplay = _no_display) -> int:
    """``reportgen verify``: print the verdict and the differences; 0 reproduced, 1 not.

    A batch folder is verified variant by variant (exit 0 only when all reproduce).
    ``display`` shows each report's stages while it is recomputed and rebuilt.
    """
    result = verify(path, on_variant=lambda verdict: _print(verdict, quiet), display=display)
    if result.variants:
        reproduced = sum(1 for v in result.variants if v.ok)
        failed = [v.path.name for v in result.variants if not v.ok]
        print(f"batch {path}: {reproduced} of {len(result.variants)} variants reproduced"
              + (f"; NOT reproduced: {', '.join(failed)}" if failed else ""))
    else:
        _print(result, quiet)
    return 0 if result.ok else 1


def _print(result: Verification, quiet: bool) -> None:
    if not os.path.lexists(result.path):  # a batch variant whose folder is missing
        print(f"NOT reproduced: {result.path} is missing")
        return
    if not quiet:
        print(f"verify {result.path}: {result.tolerance}")
    if result.ok:
        if not quiet:
            print(result.summary())
        return
    print(result.summary())
    for line in result.differences[:MAX_SHOWN]:
        print(f"  {line}")
    if len(result.differences) > MAX_SHOWN:
        print(f"  ... and {len(result.differences) - MAX_SHOWN} more")
