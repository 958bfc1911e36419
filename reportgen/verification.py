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

import json
import math
import os
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
from reportgen.store import cache
from reportgen.store import manifest as manifest_io
from reportgen.store.manifest import BATCH_FILE, BATCH_SCHEMA, environment
from reportgen.store.stored_report import (
    NotInside,
    StoredReport,
    compare_files,
    parse_json,
    read_inside,
    read_report,
    short_json,
)

MAX_SHOWN = 20


class Tolerance(NamedTuple):
    """How closely recomputed numbers must match, and why."""

    rtol: float
    atol: float
    reason: str


# ---------------------------------------------------------------- reading a report


def _silent(_stage: str) -> None:
    """A progress callback that shows nothing."""


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
    return f"{path}: stored {short_json(stored)}, recomputed {short_json(fresh)}"


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
            changes.append(f"{key} {short_json(old)} -> {short_json(new)}")
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


def _plan_store() -> cache.FigureStore:
    """The user's cache, for the PDF's figure moves alone: the rebuild draws every figure
    afresh and its bytes are compared whole, so moves kept from an earlier build only spare
    the layout's search (4-5 layouts of about a second each); moves that do not fit are
    ignored (``render.pagination``)."""
    return cache.FigureStore(cache.default_dir())


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
        rebuilt = pipeline.report_files(config, computed, ("pdf",), progress=progress,
                                        plan_store=_plan_store())[PDF_FILE]
        problems = [] if rebuilt == report.pdf else [
            f"{PDF_FILE}: differs from the PDF rebuilt from its config "
            f"({_first_difference(report.pdf, rebuilt)})"]
        return Rebuild(problems, "the PDF's own bytes with a rebuild")

    assert report.folder is not None
    formats = tuple(fmt for fmt, name in FORMAT_FILES.items() if name in listed)
    rebuilt_files = (pipeline.report_files(config, computed, formats, progress=progress,
                                           plan_store=_plan_store())
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


def compare_claims(report: StoredReport, config: Config,
                   computed: pipeline.Computed) -> ClaimCheck:
    """Re-evaluate every claim marked in the report's index.html on the recomputed results
    and compare names, arguments and verdicts with the marks.

    A student copy's page was rendered from its student view, in which a claim that needs
    a withheld number is undecided; its claims are re-evaluated on that view too.
    """
    if report.folder is None:
        return ClaimCheck(0, 0, [], "the PDF alone carries no claim marks")
    try:
        page = read_inside(report.folder, HTML_FILE)
    except (OSError, NotInside):
        return ClaimCheck(0, 0, [], f"no {HTML_FILE} to read claims from")
    parser = _ClaimMarks()
    parser.feed(page.decode("utf-8", errors="replace"))
    parser.close()
    results = computed.results
    if results.is_student_copy:
        results = pipeline.student_copy_of(config, computed)[1]
    matched, problems = claims.recheck(results, parser.marks)
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
    claim_check = compare_claims(report, config, computed)
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
    record = parse_json(path.read_bytes(), str(path))
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
