"""``reportgen grade``: mark returned student PDFs against the batch's answer key.

A submission is a student's own handout PDF with its form fields filled in. The student is
identified by the config the PDF carries as an attachment; that config's sha256 must be
the one ``batch.json`` records for the student, so an altered or foreign PDF is reported,
never scored. Each field is read by the rules of :func:`parse_answer` and scores its
exercise's points when it is within the exercise's relative tolerance of the answer key.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportgen import pipeline
from reportgen.config import ConfigError, parse_toml, validate
from reportgen.course import batch, exercises
from reportgen.store import output

GRADES_FILE = "grades.csv"
CONFIG_ATTACHMENT = pipeline.CONFIG_FILE  # what grade reads back from a submission
#: Signs a student may put before a number ("≈ 0.48"): ignored.
APPROXIMATELY = ("≈", "~", "≃", "=", "about", "approx.", "approx")
_TIMES_TEN = re.compile(r"\s*[x×*·]\s*10\s*\^\s*\(?\s*([+\-−]?\d+)\s*\)?$")


def parse_answer(text: str) -> float | None:
    """A typed answer as a number, or None when it cannot be read.

    The rules, in order: surrounding spaces and a leading ``≈``, ``~``, ``≃``, ``=`` or
    "about" are ignored; the Unicode minus reads as ``-``; ``a x 10^b`` (also with the
    multiplication sign or ``*``)
    reads as ``a e b``; spaces and thin spaces inside are dropped (digit groups); with a
    single comma and no point the comma is the decimal mark (``0,48``); with both, commas
    group digits (``1,234.5``); anything else that Python's ``float`` cannot read, or a
    non-finite value, is unreadable.
    """
    value = text.strip().lower()
    for sign in APPROXIMATELY:
        if value.startswith(sign):
            value = value[len(sign):].strip()
    value = value.replace("\u2212", "-")
    value = _TIMES_TEN.sub(lambda m: f"e{m.group(1).replace(chr(0x2212), '-')}", value)
    value = re.sub(r"[\s\u2009\u202f\u00a0]", "", value)
    if value.count(",") == 1 and "." not in value:
        value = value.replace(",", ".")
    elif "," in value and "." in value:
        value = value.replace(",", "")
    if not value or not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?", value):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def within(given: float, expected: float, tolerance: float) -> bool:
    """Whether ``given`` is within ``tolerance`` of ``expected``, relatively (absolutely at 0)."""
    scale = abs(expected) if expected != 0 else 1.0
    return abs(given - expected) <= tolerance * scale


@dataclass(frozen=True)
class KeyRow:
    """One line of answer-key.csv."""

    answer: float
    tolerance: float
    points: float


@dataclass
class Marked:
    """One submission's outcome."""

    path: Path
    student_id: str | None = None
    scores: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    rejected: str | None = None

    @property
    def total(self) -> float:
        """The points scored."""
        return sum(self.scores.values())


def read_key(folder: Path) -> tuple[list[str], dict[str, dict[str, KeyRow]]]:
    """The exercise ids (in order) and every student's answers from answer-key.csv."""
    path = folder / exercises.KEY_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise ConfigError(f"grade: {folder} has no {exercises.KEY_FILE}; expected the folder "
                          f"of a reportgen batch with exercises") from None
    rows = csv.DictReader(io.StringIO(text))
    if tuple(rows.fieldnames or ()) != exercises.KEY_COLUMNS:
        raise ConfigError(f"grade: {path} expected the columns {','.join(exercises.KEY_COLUMNS)}")
    order: list[str] = []
    key: dict[str, dict[str, KeyRow]] = {}
    try:
        for row in rows:
            if row["exercise_id"] not in order:
                order.append(row["exercise_id"])
            key.setdefault(row["student_id"], {})[row["exercise_id"]] = KeyRow(
                float(row["answer"]), float(row["tolerance"]), float(row["points"]))
    except (TypeError, ValueError):
        raise ConfigError(f"grade: {path} line {rows.line_num}: expected numbers in answer, "
                          f"tolerance and points") from None
    return order, key


def _submission(path: Path) -> tuple[dict[str, str], str]:
    """A PDF's form fields (name -> text) and its attached config.toml."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(path)
        fields = reader.get_fields() or {}
        values = {name: str(spec.get("/V", "") or "") for name, spec in fields.items()}
        attached = reader.attachments.get(CONFIG_ATTACHMENT)
    except Exception as exc:  # pypdf raises many kinds on malformed or hostile input
        raise _Rejected(f"not a readable PDF ({exc})") from None
    if not attached:
        raise _Rejected(f"carries no {CONFIG_ATTACHMENT}: not a reportgen handout")
    if len(attached) > 1:
        raise _Rejected(f"carries {len(attached)} {CONFIG_ATTACHMENT} attachments (altered)")
    try:
        return values, attached[0].decode("utf-8")
    except UnicodeDecodeError:
        raise _Rejected(f"its {CONFIG_ATTACHMENT} is not UTF-8 text") from None


class _Rejected(Exception):
    """A submission that cannot be scored; the message says why."""


def _identify(config_text: str, record: Mapping[str, Any]) -> str:
    """The student id of a submission whose config batch.json vouches for."""
    try:
        config = validate(parse_toml(config_text, CONFIG_ATTACHMENT), source=CONFIG_ATTACHMENT)
    except ConfigError as exc:
        raise _Rejected(f"its attached config is unreadable ({exc})") from None
    if config.student is None:
        raise _Rejected("its config names no student")
    rows = [row for row in record["variants"]
            if (row.get("student") or {}).get("id") == config.student.id]
    if not rows:
        raise _Rejected(f"student {config.student.id!r} is not in this batch")
    if all(row.get("config_sha256") != config.digest() for row in rows):
        raise _Rejected(f"its config differs from the one built for student "
                        f"{config.student.id!r} (altered, or from another batch)")
    return config.student.id


def mark(path: Path, record: Mapping[str, Any], key: Mapping[str, Mapping[str, KeyRow]],
         order: Sequence[str]) -> Marked:
    """Score one submission (or say why it cannot be scored)."""
    marked = Marked(path)
    try:
        fields, config_text = _submission(path)
        marked.student_id = _identify(config_text, record)
    except _Rejected as reason:
        marked.rejected = str(reason)
        return marked
    expected = key.get(marked.student_id, {})
    for exercise_id in order:
        row = expected.get(exercise_id)
        if row is None:
            continue
        typed = fields.get(exercise_id, "")
        given = parse_answer(typed)
        if given is None:
            marked.scores[exercise_id] = 0.0
            marked.notes.append(f"{exercise_id}: " + (
                "blank" if not typed.strip() else f"unreadable {typed[:40]!r}"))
        elif within(given, row.answer, row.tolerance):
            marked.scores[exercise_id] = row.points
        else:
            marked.scores[exercise_id] = 0.0
    return marked


def grade(folder: Path, submissions: Sequence[Path]) -> list[Marked]:
    """Mark every submission and write ``folder/grades.csv`` (scored submissions only).

    Raises:
      ConfigError: ``folder`` is not a batch with an answer key.
    """
    record = batch.read_record(folder)
    if record is None:
        raise ConfigError(f"grade: {folder} holds no {batch.BATCH_FILE}; expected the folder "
                          f"of a reportgen batch")
    order, key = read_key(folder)
    marked = [mark(Path(path), record, key, order) for path in submissions]
    output.replace_file(folder / GRADES_FILE, grades_csv(marked, order).encode("utf-8"))
    return marked


def grades_csv(marked: Sequence[Marked], order: Sequence[str]) -> str:
    """grades.csv: ``student_id,<exercise ids...>,total``; a later submission replaces one."""
    latest = {m.student_id: m for m in marked if m.rejected is None and m.student_id}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student_id", *order, "total"])
    for student_id in sorted(latest):
        scores = latest[student_id].scores
        writer.writerow([student_id, *(f"{scores.get(e, 0.0):g}" for e in order),
                         f"{latest[student_id].total:g}"])
    return buffer.getvalue()
