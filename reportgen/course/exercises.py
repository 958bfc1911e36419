"""Exercises across a batch: the answer key.

An exercise's answer is read or computed by ``store.results.answers`` (a dotted path into
results.json, or a kind's numpy computation); what a student copy withholds is
``store.results.student_view``; the leak check is ``render.leaks``.

answer-key.csv has one row per student (per variant, without a roster) and exercise:
``student_id,exercise_id,answer,tolerance,points``. ``answer`` is the number in full
(``repr``), a count of steps, or a choice's letter; every cell goes through
``course.cells`` (a formula-like roster id is neutralised, numbers stay numbers).
batch.json records the key's sha256 (``answer_key_sha256``), so ``grade`` can refuse a
key that is not the one the batch made.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from reportgen.config import Config, ConfigError
from reportgen.course import cells, files
from reportgen.store.answers import answers
from reportgen.store.results import Results

KEY_FILE = "answer-key.csv"
KEY_COLUMNS = ("student_id", "exercise_id", "answer", "tolerance", "points")
#: batch.json's record of the key it vouches for.
KEY_SHA256 = "answer_key_sha256"
#: The most bytes answer-key.csv may have when it is read back.
MAX_KEY_BYTES = 20_000_000


class _Variant(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def config(self) -> Config: ...

    @property
    def student(self) -> Any: ...

    @property
    def copy(self) -> str | None: ...


def answer_key(variants: Sequence[_Variant], results: Mapping[str, Results]) -> str:
    """answer-key.csv: ``student_id,exercise_id,answer,tolerance,points``, one row per answer
    (of each student copy; the instructor copy has the same answers).

    ``student_id`` is the roster's id, or the variant's name in a batch without a roster.
    """
    rows = []
    for variant in variants:
        if variant.copy == "instructor":
            continue
        who = variant.student.id if variant.student is not None else \
            variant.id.split("/", 1)[-1]
        for answer in answers(results[variant.id]):
            rows.append([who, answer.exercise.id, answer.text,
                         answer.exercise.tolerance, _points(answer.exercise.points)])
    return cells.csv_text(KEY_COLUMNS, rows)


def _points(points: float) -> int | float:
    return int(points) if float(points).is_integer() else points


def read_key(folder: Path, record: Mapping[str, Any] | None = None
             ) -> tuple[list[str], dict[str, dict[str, tuple[str, float, float]]]]:
    """The exercise ids (in order) and every student's ``(answer, tolerance, points)`` from
    answer-key.csv; with ``record`` (batch.json), the key must be the one it records.

    Raises:
      ConfigError: no key, a key batch.json does not vouch for, or a malformed one.
    """
    path = folder / KEY_FILE
    if not path.exists() and not path.is_symlink():
        raise ConfigError(f"grade: {files.shown(folder)} has no {KEY_FILE}; expected the "
                          f"folder of a reportgen batch with exercises")
    data = files.read_bounded(path, MAX_KEY_BYTES, "grade")
    if record is not None and hashlib.sha256(data).hexdigest() != record.get(KEY_SHA256):
        raise ConfigError(f"grade: {files.shown(path)} is not the key batch.json records "
                          f"(a batch interrupted while re-batching, or an edited key); run "
                          f"reportgen batch again")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"grade: {files.shown(path)} is not UTF-8 text") from None
    rows = csv.reader(io.StringIO(text))
    order: list[str] = []
    key: dict[str, dict[str, tuple[str, float, float]]] = {}
    try:
        if tuple(next(rows, [])) != KEY_COLUMNS:
            raise ConfigError(f"grade: {files.shown(path)}: expected the columns "
                              f"{','.join(KEY_COLUMNS)}")
        for line in rows:
            if len(line) != len(KEY_COLUMNS):
                raise ValueError
            student_id, exercise_id, answer, tolerance, points = map(cells.text_of, line)
            if exercise_id not in order:
                order.append(exercise_id)
            key.setdefault(student_id, {})[exercise_id] = (answer, float(tolerance),
                                                           float(points))
    except (csv.Error, ValueError):
        raise ConfigError(f"grade: {files.shown(path)} line {rows.line_num}: expected "
                          f"{','.join(KEY_COLUMNS)} with numbers in tolerance and "
                          f"points") from None
    return order, key
