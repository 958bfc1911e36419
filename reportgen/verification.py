"""``reportgen verify``: re-derive a report from its own config and compare.

A report folder is checked file by file against its manifest's sha256 list, and every
number in its results.json against a fresh computation. A handout PDF alone carries
``config.toml``, ``results.json`` and ``manifest.json`` as attachments and is checked
the same way. Numbers must match exactly on the platform and versions that built the
report; elsewhere within a tolerance stated in the output.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from reportgen import pipeline
from reportgen.config import ConfigError, validate
from reportgen.store.manifest import MANIFEST_FILE, environment, sha256_file
from reportgen.store.results import RESULTS_FILE

MAX_SHOWN = 20


class StoredReport(NamedTuple):
    """What a report carries: its results, manifest and config text, and its folder."""

    results: dict[str, Any]
    manifest: dict[str, Any] | None
    config_toml: str | None
    folder: Path | None


class Tolerance(NamedTuple):
    """How closely recomputed numbers must match, and why."""

    rtol: float
    atol: float
    reason: str


def _json(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"verify: {what} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"verify: {what} holds no results object")
    return value


def read_folder(folder: Path) -> StoredReport:
    """A report folder's results, manifest and config."""
    results_path = folder / RESULTS_FILE
    if not results_path.is_file():
        raise ConfigError(f"verify: {folder} holds no {RESULTS_FILE}; expected a report folder")
    manifest_path = folder / MANIFEST_FILE
    config_path = folder / "config.toml"
    return StoredReport(
        _json(results_path.read_bytes(), str(results_path)),
        _json(manifest_path.read_bytes(), str(manifest_path)) if manifest_path.is_file() else None,
        config_path.read_text(encoding="utf-8") if config_path.is_file() else None,
        folder,
    )


def read_pdf(path: Path) -> StoredReport:
    """A handout PDF's attached results, manifest and config."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        attachments = PdfReader(path).attachments
    except (PdfReadError, OSError, ValueError) as exc:
        raise ConfigError(f"verify: {path} is not a readable PDF ({exc})") from None
    if RESULTS_FILE not in attachments:
        raise ConfigError(f"verify: {path} carries no {RESULTS_FILE} attachment")

    def attached(name: str) -> bytes | None:
        found = attachments.get(name)
        return found[0] if found else None

    manifest = attached(MANIFEST_FILE)
    config = attached("config.toml")
    return StoredReport(
        _json(attached(RESULTS_FILE) or b"", f"{path}:{RESULTS_FILE}"),
        _json(manifest, f"{path}:{MANIFEST_FILE}") if manifest else None,
        config.decode("utf-8") if config else None,
        None,
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
        for key in sorted(set(stored) | set(fresh)):
            if key not in stored:
                continue
            path = f"{where}.{key}" if where else key
            yield from walk(stored.get(key, "<missing>"), fresh.get(key, "<missing>"), path)
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


def compare_files(report: StoredReport) -> list[str]:
    """Files whose sha256 differs from the manifest's, or that are missing or extra."""
    if report.folder is None or report.manifest is None:
        return []
    recorded: dict[str, str] = report.manifest.get("files", {})
    problems = []
    for name, digest in sorted(recorded.items()):
        path = report.folder / name
        if not path.is_file():
            problems.append(f"{name}: missing (the manifest lists it)")
        elif sha256_file(path) != digest:
            problems.append(f"{name}: sha256 differs from the manifest's")
    for path in sorted(report.folder.rglob("*")):
        name = path.relative_to(report.folder).as_posix()
        if path.is_file() and name != MANIFEST_FILE and name not in recorded:
            problems.append(f"{name}: not in the manifest")
    return problems


def compare_config(report: StoredReport) -> list[str]:
    """The attached or written config.toml must be the config results.json records."""
    if report.config_toml is None:
        return []
    try:
        config = validate(tomllib.loads(report.config_toml), source="config.toml")
    except (tomllib.TOMLDecodeError, ConfigError) as exc:
        return [f"config.toml: unreadable ({exc})"]
    recorded = report.results.get("config") or {}
    # sections added since the report was made (``pdf``) are compared only when recorded
    normalised = {k: v for k, v in config.normalised().items() if k in recorded}
    if normalised != recorded:
        return ["config.toml: differs from the config recorded in results.json"]
    return []


@dataclass(frozen=True)
class Verification:
    """The outcome of re-deriving a report.

    Attributes:
      path: the report folder or PDF that was checked.
      ok: True when every compared number and file matches.
      differences: one readable line per difference (empty when ``ok``).
      compared: what was compared, in words.
      tolerance: how closely numbers had to match, and why.
    """

    path: Path
    ok: bool
    differences: tuple[str, ...]
    compared: str
    tolerance: str

    def summary(self) -> str:
        """The verdict in one line."""
        if self.ok:
            return f"reproduced: {self.compared}"
        return f"NOT reproduced: {len(self.differences)} difference(s)"


def check(path: Path) -> Verification:
    """Recompute the report at ``path`` from its own config and compare.

    Raises:
      ConfigError: ``path`` is not a readable report.
    """
    report = read_report(path)
    config = validate(report.results.get("config") or {}, source="results.json config")
    computed = pipeline.compute(config, use_cache=False)
    stored_env = (report.manifest or {}).get("environment")
    tolerance = tolerance_for(stored_env, environment(computed.environment))
    problems = compare_config(report) + compare_files(report)
    problems += compare_numbers(report.results, computed.results, tolerance)
    compared = "every number matches" + (
        " and every file matches the manifest"
        if report.folder is not None and report.manifest is not None else "")
    return Verification(Path(path), not problems, tuple(problems), compared,
                        f"config sha256 {config.digest()[:16]}, {tolerance.reason}")


def main(path: Path, quiet: bool = False) -> int:
    """``reportgen verify``: print the verdict and the differences; 0 reproduced, 1 not."""
    result = check(path)
    if not quiet:
        print(f"verify {path}: {result.tolerance}")
    if result.ok:
        if not quiet:
            print(result.summary())
        return 0
    print(result.summary())
    for line in result.differences[:MAX_SHOWN]:
        print(f"  {line}")
    if len(result.differences) > MAX_SHOWN:
        print(f"  ... and {len(result.differences) - MAX_SHOWN} more")
    return 1
