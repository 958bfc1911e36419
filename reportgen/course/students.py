"""A handout per student: the roster, each student's own random stream, fair problems.

A student's stream is a numpy ``SeedSequence`` over the sha256 of the course's secret salt
and the student's id, so re-running gives every student the same variant, and no student
can derive another's without the salt (which no student file contains). From the stream
come the student's seed (``config.seed``: the data and the random starts) and the values
of ``[students.ranges]``. When ``[students.constraints]`` rejects a draw, the next attempt
uses the next child stream (``spawn_key = (attempt,)``): deterministic redraws.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reportgen.config import (
    ConfigError,
    ConstraintsConfig,
    Override,
    StudentConfig,
    StudentsConfig,
    parse_key,
)
from reportgen.store.results import Results

#: The most students one roster may hold.
MAX_STUDENTS = 5_000
#: The most bytes a roster file may have.
MAX_ROSTER_BYTES = 5_000_000
#: Drawn values are rounded to this many significant digits, so a handout reads well.
SIGNIFICANT_DIGITS = 3


def read_roster(path: Path) -> list[StudentConfig]:
    """The students of a CSV roster with columns ``id`` and ``name`` (others are ignored).

    Raises:
      ConfigError: naming ``students.roster``, the file and the line.
    """
    where = f"students.roster ({path.name})"
    try:
        if path.stat().st_size > MAX_ROSTER_BYTES:
            raise ConfigError(f"{where}: expected at most {MAX_ROSTER_BYTES} bytes")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such file {path}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: expected UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read ({exc.strerror})") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = [name.strip().lower() for name in reader.fieldnames or []]
    if "id" not in columns:
        raise ConfigError(f"{where}: expected a header row with the columns id,name")
    reader.fieldnames = columns
    students: list[StudentConfig] = []
    seen: set[str] = set()
    for line, row in enumerate(reader, start=2):
        student_id = (row.get("id") or "").strip()
        if not student_id:
            raise ConfigError(f"{where}: line {line}: expected a student id")
        if student_id in seen:
            raise ConfigError(f"{where}: line {line}: student id {student_id!r} appears twice")
        if len(students) >= MAX_STUDENTS:
            raise ConfigError(f"{where}: expected at most {MAX_STUDENTS} students")
        seen.add(student_id)
        try:
            students.append(StudentConfig(id=student_id, name=(row.get("name") or "").strip()))
        except ValueError as exc:
            raise ConfigError(f"{where}: line {line}: {_first_error(exc)}") from None
    if not students:
        raise ConfigError(f"{where}: expected at least one student")
    return students


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)


def entropy(salt: str, student_id: str) -> int:
    """The student's 256-bit entropy: sha256 of the salt and the id."""
    digest = hashlib.sha256(salt.encode("utf-8") + b"\0" + student_id.encode("utf-8"))
    return int.from_bytes(digest.digest(), "big")


def stream(salt: str, student_id: str, attempt: int = 0) -> np.random.Generator:
    """The student's random stream for one attempt (attempt k: child stream k)."""
    sequence = np.random.SeedSequence(entropy(salt, student_id), spawn_key=(attempt,))
    return np.random.Generator(np.random.PCG64(sequence))


def _round(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def draw(settings: StudentsConfig, student: StudentConfig, attempt: int) -> dict[str, Any]:
    """The student's values for one attempt: ``seed`` and each ``[students.ranges]`` key."""
    rng = stream(settings.salt, student.id, attempt)
    values: dict[str, Any] = {"seed": int(rng.integers(0, 2**32 - 1))}
    for key, spec in sorted(settings.ranges.items()):
        if spec and isinstance(spec[0], list | tuple):
            values[key] = [_round(float(rng.uniform(low, high))) for low, high in spec]
        else:
            low, high = spec
            values[key] = _round(float(rng.uniform(low, high)))
    return values


def overrides(student: StudentConfig, values: Mapping[str, Any]) -> list[Override]:
    """The student's identity and drawn values as config overrides."""
    label = f"students (student {student.id!r})"
    found = [Override(("student",), student.model_dump(), label)]
    found += [Override(parse_key(key, f"{label}: {key}"), value, f"{label}: {key}")
              for key, value in values.items()]
    return found


def violations(constraints: ConstraintsConfig, results: Results) -> list[str]:
    """What a student's computed results break of the constraints (empty: a fair problem)."""
    found = []
    measured = {"condition_number": results.diagnostics.condition_number,
                "max_stable_lr": results.diagnostics.max_stable_lr}
    for name, value in measured.items():
        bounds = getattr(constraints, name)
        if bounds is not None and (value is None or not bounds[0] <= value <= bounds[1]):
            found.append(f"{name} {value} outside [{bounds[0]}, {bounds[1]}]")
    if constraints.no_divergence:
        diverged = [run.name for run in results.runs if run.diverged]
        if diverged:
            found.append(f"diverged: {', '.join(diverged)}")
    return found


def check_ranges(settings: StudentsConfig) -> None:
    """Every range key must be a dotted config key with a pair (or pairs) low < high."""
    for key, spec in settings.ranges.items():
        pairs: Sequence[Any] = spec if spec and isinstance(spec[0], list | tuple) else [spec]
        for low, high in pairs:
            if not low < high:
                raise ConfigError(f'students.ranges."{key}": expected [low, high] with '
                                  f"low < high, got [{low}, {high}]")
