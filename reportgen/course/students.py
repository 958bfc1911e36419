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
import os
import re
import unicodedata
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
from reportgen.config.course_mode import SALT_ENVIRONMENT
from reportgen.course import files
from reportgen.shipped import reports_dir, templates_dir
from reportgen.store.answers import unfair_exercises
from reportgen.store.results import Results

#: The most students one roster may hold.
MAX_STUDENTS = 5_000
#: The most bytes a roster file may have.
MAX_ROSTER_BYTES = 5_000_000
#: Drawn values are rounded to this many significant digits, so a handout reads well.
SIGNIFICANT_DIGITS = 3


#: The most bytes a salt file may have.
MAX_SALT_BYTES = 4_096
#: The fewest characters a salt may have (``reportgen init`` writes 64 random hex digits):
#: a short salt can be guessed from one student's seed, and then gives every student's.
MIN_SALT_CHARS = 16
#: Roster ids that may name a folder as they are; others get a slug and a hash.
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,47}")
#: Characters a roster id or name may not hold: format characters (zero-width spaces,
#: bidirectional overrides), separators, private-use and unassigned code points, and any
#: space but the plain one: each makes two different ids look alike.
_INVISIBLE = frozenset({"Cf", "Zl", "Zp", "Co", "Cn", "Cs", "Cc"})


def read_roster(path: Path) -> list[StudentConfig]:
    """The students of a CSV roster with columns ``id`` and ``name`` (others are ignored).

    Ids and names are NFC-normalised (the same text typed on two systems is one id); an id
    or name with an invisible or format character is refused, and so are two ids that
    look alike (equal once normalised with NFKC and case-folded): each would make two
    students whom nobody can tell apart. The file is read bounded (a FIFO or a device is
    refused unread), and a field over 128 KiB is one line, not a traceback.

    Raises:
      ConfigError: naming ``students.roster``, the file and the line.
    """
    where = f"students.roster ({files.shown(path.name)})"
    text = files.read_text(path, MAX_ROSTER_BYTES, where)
    reader = csv.DictReader(io.StringIO(text))
    try:
        columns = [name.strip().lower() for name in reader.fieldnames or []]
    except csv.Error as exc:
        raise ConfigError(f"{where}: line 1: {exc}") from None
    if "id" not in columns:
        raise ConfigError(f"{where}: expected a header row with the columns id,name")
    reader.fieldnames = columns
    students: list[StudentConfig] = []
    seen: dict[str, tuple[int, str]] = {}
    line = 1
    try:
        for line, row in enumerate(reader, start=2):
            student = _student(row, line, where)
            key = unicodedata.normalize("NFKC", student.id).casefold()
            if key in seen:
                first_line, first = seen[key]
                same = "appears twice" if first == student.id else \
                    f"looks like {files.shown(first)!r} on line {first_line}"
                raise ConfigError(f"{where}: line {line}: student id "
                                  f"{files.shown(student.id)!r} {same}")
            if len(students) >= MAX_STUDENTS:
                raise ConfigError(f"{where}: expected at most {MAX_STUDENTS} students")
            seen[key] = (line, student.id)
            students.append(student)
    except csv.Error as exc:
        raise ConfigError(f"{where}: line {line + 1}: {exc}") from None
    if not students:
        raise ConfigError(f"{where}: expected at least one student")
    return students


def _student(row: Mapping[str, Any], line: int, where: str) -> StudentConfig:
    """One roster row as a student: id and name NFC-normalised and checked."""
    values = {}
    for column in ("id", "name"):
        text = unicodedata.normalize("NFC", str(row.get(column) or "").strip())
        for index, char in enumerate(text):
            if unicodedata.category(char) in _INVISIBLE or (char.isspace() and char != " "):
                raise ConfigError(f"{where}: line {line}: {column}: expected visible text, "
                                  f"got U+{ord(char):04X} ({unicodedata.name(char, 'unnamed')})"
                                  f" at character {index + 1}")
        values[column] = text
    if not values["id"]:
        raise ConfigError(f"{where}: line {line}: expected a student id")
    try:
        return StudentConfig(id=values["id"], name=values["name"])
    except ValueError as exc:
        raise ConfigError(f"{where}: line {line}: {_first_error(exc)}") from None


def folder_name(student_id: str) -> str:
    """The name of a student's folder and handout file: the id itself where it is plain
    (letters, digits, ``_`` and ``-``), else a slug of it and a short hash (an id may hold
    ``/``, quotes or anything else a roster allows)."""
    if _SAFE_ID.fullmatch(student_id):
        return student_id
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", student_id).strip("-_")[:32] or "student"
    return f"{slug}-{hashlib.sha256(student_id.encode('utf-8')).hexdigest()[:8]}"


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


def draw(settings: StudentsConfig, student: StudentConfig, attempt: int,
         salt: str) -> dict[str, Any]:
    """The student's values for one attempt: ``seed`` and each ``[students.ranges]`` key."""
    rng = stream(salt, student.id, attempt)
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
    return found + unfair_exercises(results)


def read_salt(settings: StudentsConfig, folder: Path,
              environ: Mapping[str, str] | None = None) -> str:
    """The course's secret salt: the file ``salt_file`` names (relative to ``folder``, the
    config's), else ``$REPORTGEN_SALT``; surrounding whitespace is not part of it.

    Raises:
      ConfigError: no salt, both given and different, a salt shorter than
        ``MIN_SALT_CHARS``, or one printed in a shipped example or the docs (anyone could
        rebuild every student's data and key with it).
    """
    environ = os.environ if environ is None else environ
    from_env = (environ.get(SALT_ENVIRONMENT) or "").strip() or None
    from_file = None
    if settings.salt_file is not None:
        path = folder / settings.salt_file
        from_file = files.read_text(path, MAX_SALT_BYTES, "students.salt_file").strip()
        if not from_file:
            raise ConfigError(f"students.salt_file: {files.shown(path)} is empty; expected "
                              f"a secret (reportgen init DIR --from lab-course writes one)")
    if from_env is not None and from_file is not None and from_env != from_file:
        raise ConfigError(f"students.salt_file: ${SALT_ENVIRONMENT} is set too, to another "
                          f"salt; unset one of them")
    salt = from_file or from_env
    if salt is None:
        raise ConfigError(f"students.salt_file: expected a file with the course's secret salt "
                          f"(reportgen init DIR --from lab-course writes one), or "
                          f"${SALT_ENVIRONMENT}; a roster needs a salt")
    source = "students.salt_file" if from_file else f"${SALT_ENVIRONMENT}"
    if len(salt) < MIN_SALT_CHARS:
        raise ConfigError(f"{source}: expected a salt of at least {MIN_SALT_CHARS} "
                          f"characters, got {len(salt)}; a short one can be guessed")
    if is_published(salt):
        raise ConfigError(f"{source}: this salt is printed in reportgen's examples or docs, so "
                          f"anyone can rebuild every student's data and answers; make a "
                          f"secret one (reportgen init DIR --from lab-course writes one)")
    return salt


def published_texts() -> list[Path]:
    """The files whose text is public: the shipped configs and templates, and (in a
    checkout) the README and the docs."""
    roots = [reports_dir(), templates_dir()]
    checkout = Path(__file__).resolve().parents[2]
    roots += [path for path in (checkout / "docs", checkout / "README.md") if path.exists()]
    found = []
    for root in roots:
        found += [root] if root.is_file() else sorted(
            p for p in root.rglob("*") if p.suffix in (".md", ".toml", ".csv", ".html", ".txt")
            and p.is_file())
    return found


def is_published(salt: str) -> bool:
    """Whether ``salt`` appears in a shipped example or the docs (``published_texts``)."""
    for path in published_texts():
        try:
            if salt in path.read_text(encoding="utf-8", errors="replace"):
                return True
        except OSError:
            continue
    return False


def check_ranges(settings: StudentsConfig) -> None:
    """Every range key must be a dotted config key with a pair (or pairs) low < high."""
    for key, spec in settings.ranges.items():
        pairs: Sequence[Any] = spec if spec and isinstance(spec[0], list | tuple) else [spec]
        for low, high in pairs:
            if not low < high:
                raise ConfigError(f'students.ranges."{key}": expected [low, high] with '
                                  f"low < high, got [{low}, {high}]")
