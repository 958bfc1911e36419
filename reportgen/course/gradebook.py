"""grades.csv, the course's marks: one row per student, merged, never replaced; and the
files a learning management system imports.

grades.csv has the columns ``student_id,name``, then for each exercise ``<id> answer``
(what the student typed) and ``<id> points``, then ``total,submission,submission_sha256,
note``. Every student of the batch has a row, submitted or not; a row keeps the file it
was marked from (its name and sha256), so a later grade run can tell a re-run of the same
file from a new submission. Rows of students no longer in the batch are kept. Cells go
through ``course.cells``.

The LMS exports hold each student's total: ``grades-moodle.csv`` (``ID number,Full
name,<name> total,<name> feedback``: Moodle's CSV grade import maps "ID number" to the
user field of that name and the total to a grade item) and ``grades-canvas.csv``
(``Student,ID,SIS User ID,SIS Login ID,Section,<name> total``, with a "Points Possible"
row first: Canvas's gradebook import matches students by SIS User ID, which holds the
roster id; ``ID``, Canvas's own user id, is left empty).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reportgen.config import ConfigError
from reportgen.course import cells, files

GRADES_FILE = "grades.csv"
MOODLE_FILE = "grades-moodle.csv"
CANVAS_FILE = "grades-canvas.csv"
#: The most bytes grades.csv may have when it is read back.
MAX_GRADES_BYTES = 20_000_000
TAIL = ("total", "submission", "submission_sha256", "note")


@dataclass
class Row:
    """One student's marks (as grades.csv holds them: text cells)."""

    student_id: str
    name: str = ""
    answers: dict[str, str] = field(default_factory=dict)
    points: dict[str, str] = field(default_factory=dict)
    total: str = ""
    submission: str = ""
    sha256: str = ""
    note: str = ""


def columns(exercises: Sequence[str]) -> list[str]:
    """grades.csv's header for these exercise ids."""
    found = ["student_id", "name"]
    for exercise in exercises:
        found += [f"{exercise} answer", f"{exercise} points"]
    return found + list(TAIL)


def read(folder: Path, exercises: Sequence[str]) -> dict[str, Row]:
    """The rows of ``folder``'s grades.csv by student id (none when there is no file).

    Raises:
      ConfigError: a grades.csv that is not a readable file of this course's columns (one
        line; nothing is overwritten then).
    """
    path = folder / GRADES_FILE
    if not path.exists() and not path.is_symlink():
        return {}
    text = files.read_text(path, MAX_GRADES_BYTES, "grade")
    reader = csv.reader(io.StringIO(text))
    try:
        header = [cells.text_of(name) for name in next(reader, [])]
        if header != columns(exercises):
            raise ConfigError(f"grade: {files.shown(path)} has other columns than this "
                              f"batch's exercises ({', '.join(exercises)}); move it away to "
                              f"start a new one")
        found: dict[str, Row] = {}
        for line in reader:
            if not line:
                continue
            values = [cells.text_of(value) for value in line]
            if len(values) != len(header):
                raise ConfigError(f"grade: {files.shown(path)} line {reader.line_num}: "
                                  f"expected {len(header)} cells, got {len(values)}")
            plain = dict(zip(header, values, strict=True))
            row = Row(plain["student_id"], plain["name"],
                      {e: plain[f"{e} answer"] for e in exercises},
                      {e: plain[f"{e} points"] for e in exercises}, plain["total"],
                      plain["submission"], plain["submission_sha256"], plain["note"])
            found[row.student_id] = row
    except csv.Error as exc:
        raise ConfigError(f"grade: {files.shown(path)} line {reader.line_num}: {exc}") from None
    return found


def grades_csv(rows: Sequence[Row], exercises: Sequence[str]) -> str:
    """grades.csv's text."""
    body = []
    for row in rows:
        cells_of: list[object] = [row.student_id, row.name]
        for exercise in exercises:
            cells_of += [row.answers.get(exercise, ""), _number(row.points.get(exercise, ""))]
        body.append([*cells_of, _number(row.total), row.submission, row.sha256, row.note])
    return cells.csv_text(columns(exercises), body)


def _number(text: str) -> str | float | int:
    """A points cell as a number where it is one (so a spreadsheet sums it)."""
    if not cells.is_plain_number(text):
        return text
    value = float(text)
    return int(value) if value.is_integer() else value


def moodle_csv(rows: Sequence[Row], name: str) -> str:
    """The Moodle grade import file: ``ID number,Full name,<name> total,<name> feedback``."""
    return cells.csv_text(["ID number", "Full name", f"{name} total", f"{name} feedback"],
                          [[row.student_id, row.name, _number(row.total), row.note]
                           for row in rows])


def canvas_csv(rows: Sequence[Row], name: str, possible: float) -> str:
    """The Canvas gradebook import file: ``Student,ID,SIS User ID,SIS Login ID,Section,
    <name> total``, a "Points Possible" row first."""
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{name} total"]
    body: list[list[object]] = [["Points Possible", "", "", "", "", _number(repr(possible))]]
    body += [[row.name or row.student_id, "", row.student_id, "", "", _number(row.total)]
             for row in rows]
    return cells.csv_text(header, body)


def totals(rows: Mapping[str, Row]) -> dict[str, float]:
    """Each marked student's total points."""
    return {sid: float(row.total) for sid, row in rows.items()
            if row.submission and cells.is_plain_number(row.total)}
