"""``reportgen grade``: mark returned student PDFs against the batch's answer key.

A submission is a student's own handout PDF with its form fields filled in. The student is
identified by the config the PDF carries as an attachment; that config's sha256 must be
the one ``batch.json`` records for the student's copy, the PDF's own manifest must have
been made from that config, and its first page must name that student: so a PDF that is
altered, from another batch, or has another student's config swapped in is reported and
never scored. Each field is read by the rules of :func:`parse_answer` and scores its
exercise's points within the exercise's relative tolerance (a count of steps or a
choice's letter must be exact).

Nothing is lost: ``grades.csv`` is merged (``course.gradebook``); a student who already
has a mark from another file keeps it unless ``replace`` says otherwise, and two files
for one student in one run are refused, naming both, with nothing written. Every file is
read bounded, refusing FIFOs and devices unread (``course.files``), and names are printed
with control characters escaped.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import math
import os
import unicodedata
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportgen import pipeline
from reportgen.config import ConfigError, parse_toml, validate
from reportgen.course import batch, cells, exercises, files, gradebook
from reportgen.store import output

GRADES_FILE = gradebook.GRADES_FILE
CONFIG_ATTACHMENT = pipeline.CONFIG_FILE  # what grade reads back from a submission
MANIFEST_ATTACHMENT = "manifest.json"
#: The most bytes a submission, batch.json and the answer key may have.
MAX_SUBMISSION_BYTES = 50_000_000
MAX_RECORD_BYTES = 50_000_000
#: A typed answer longer than this is not read (nobody types a number that long).
MAX_TYPED_CHARS = 200
#: Signs a student may put before a number ("≈ 0.48"): ignored.
APPROXIMATELY = ("≈", "~", "≃", "=", "about", "approx.", "approx")
_SPACES = frozenset(" \t\u2009\u202f\u00a0")
_TIMES = frozenset("x×*·")
_SIGNS = "+-"


class GradeConflict(Exception):
    """A grade run that would lose or double a mark (two files for one student, a new file
    without ``--replace``): nothing is written; the message names the files (exit 1)."""


# ---------------------------------------------------------------- reading a typed answer


def parse_answer(text: str) -> float | None:
    """A typed answer as a number, or None when it cannot be read.

    The rules, in order: an answer longer than ``MAX_TYPED_CHARS`` is not read;
    surrounding spaces and a leading ``≈``, ``~``, ``≃``, ``=`` or "about" are ignored; the
    Unicode minus reads as ``-``; ``a x 10^b`` (also with ``×``, ``*`` or ``·``, and
    ``10^(b)``) reads as ``a e b``; spaces and thin spaces inside are dropped (digit
    groups); with a single comma and no point the comma is the decimal mark (``0,48``);
    with both, commas group digits (``1,234.5``); anything else that is not a plain
    decimal number, or a non-finite value, is unreadable. Every rule is a linear scan.
    """
    if len(text) > MAX_TYPED_CHARS:
        return None
    value = text.strip().lower()
    for sign in APPROXIMATELY:
        if value.startswith(sign):
            value = value[len(sign):].strip()
    value = value.replace("\u2212", "-")
    value = _times_ten(value)
    value = "".join(char for char in value if char not in _SPACES)
    if value.count(",") == 1 and "." not in value:
        value = value.replace(",", ".")
    elif "," in value and "." in value:
        value = value.replace(",", "")
    body = value[1:] if value[:1] in _SIGNS else value
    if not body or not cells.is_plain_number(body):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _times_ten(value: str) -> str:
    """``a × 10^b`` as ``a e b`` (the last ``10^`` after a multiplication sign), by a scan
    from the right: linear, whatever the spaces."""
    caret = value.rfind("^")
    if caret < 0:
        return value
    head = value[:caret].rstrip()
    if not head.endswith("10"):
        return value
    head = head[:-2].rstrip()
    if not head or head[-1] not in _TIMES:
        return value
    mantissa = head[:-1].rstrip()
    exponent = value[caret + 1:].strip()
    if exponent.startswith("(") and exponent.endswith(")"):
        exponent = exponent[1:-1].strip()
    return f"{mantissa}e{exponent}" if mantissa else value


def within(given: float, expected: float, tolerance: float) -> bool:
    """Whether ``given`` is within ``tolerance`` of ``expected``, relatively (absolutely at 0)."""
    scale = abs(expected) if expected != 0 else 1.0
    return abs(given - expected) <= tolerance * scale


def read_choice(text: str) -> str | None:
    """A choice typed or picked: one letter (``b``, `` B ``, ``(B)``, ``B)``), upper case."""
    value = text.strip().strip("()[]. ").upper()
    return value if len(value) == 1 and "A" <= value <= "Z" else None


# ---------------------------------------------------------------- the batch and its key


@dataclass(frozen=True)
class KeyRow:
    """One line of answer-key.csv: a number (or count) with its tolerance, or a letter."""

    answer: float | str
    tolerance: float
    points: float

    def scores(self, typed: str) -> tuple[bool, str | None]:
        """Whether ``typed`` earns the points, and why it could not be read (or None)."""
        if isinstance(self.answer, str):
            letter = read_choice(typed)
            if letter is None:
                return False, None if not typed.strip() else "not a letter"
            return letter == self.answer, None
        given = parse_answer(typed)
        if given is None:
            return False, None if not typed.strip() else "unreadable"
        return within(given, self.answer, self.tolerance), None


@dataclass(frozen=True)
class Student:
    """A student of the batch: id, name, their copy's config sha256 and folder."""

    id: str
    name: str
    config_sha256: str
    folder: str


def read_record(folder: Path) -> dict[str, Any]:
    """The batch's batch.json, checked to be a complete reportgen batch: one line for
    anything else (a FIFO, malformed JSON, a batch that did not finish).

    Raises:
      ConfigError: naming the file and what is wrong.
    """
    path = folder / batch.BATCH_FILE
    where = f"grade: {files.shown(path)}"
    if not path.exists() and not path.is_symlink():
        raise ConfigError(f"grade: {files.shown(folder)} holds no {batch.BATCH_FILE}; "
                          f"expected the folder of a reportgen batch")
    text = files.read_text(path, MAX_RECORD_BYTES, "grade")
    try:
        record = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"{where}: not valid JSON ({_first_line(exc)})") from None
    if not isinstance(record, dict) or record.get("schema") != batch.SCHEMA:
        raise ConfigError(f"{where}: not a reportgen batch record (schema {batch.SCHEMA})")
    variants = record.get("variants")
    if not isinstance(variants, list) or not all(
            isinstance(row, dict) and isinstance(row.get("id"), str)
            and isinstance(row.get("config_sha256"), str)
            and isinstance(row.get("student") or {}, dict) for row in variants):
        raise ConfigError(f"{where}: malformed (expected variants with an id and a "
                          f"config_sha256)")
    if record.get("complete") is not True:
        raise ConfigError(f"{where}: the batch is incomplete (a batch run stopped or failed "
                          f"before it finished); run reportgen batch again, then grade")
    return record


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:120]


def students_of(record: Mapping[str, Any]) -> list[Student]:
    """The batch's students, in roster order (their student copies' rows)."""
    found = []
    for row in record["variants"]:
        if row.get("copy", "student") != "student":
            continue
        student = row.get("student") or {}
        sid = str(student.get("id") or row["id"].split("/", 1)[-1])
        found.append(Student(sid, str(student.get("name") or ""), row["config_sha256"],
                             row["id"]))
    return found


def read_key(folder: Path, record: Mapping[str, Any] | None = None
             ) -> tuple[list[str], dict[str, dict[str, KeyRow]]]:
    """The exercise ids (in order) and every student's answers from answer-key.csv
    (``course.exercises.read_key``: the key batch.json records)."""
    order, raw = exercises.read_key(folder, record)
    key: dict[str, dict[str, KeyRow]] = {}
    for student_id, rows in raw.items():
        for exercise_id, (answer, tolerance, points) in rows.items():
            value: float | str = float(answer) if cells.is_plain_number(answer) else answer
            key.setdefault(student_id, {})[exercise_id] = KeyRow(
                value, 0.0 if isinstance(value, str) else tolerance, points)
    return order, key


# ---------------------------------------------------------------- one submission


@dataclass
class Marked:
    """One submission's outcome."""

    path: Path
    sha256: str = ""
    student_id: str | None = None
    typed: dict[str, str] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    rejected: str | None = None

    @property
    def total(self) -> float:
        """The points scored."""
        return sum(self.scores.values())

    @property
    def shown(self) -> str:
        """The file's name as it may be printed (control characters escaped)."""
        return files.shown(self.path)


class _Rejected(Exception):
    """A submission that cannot be scored; the message says why."""


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf's warnings about a damaged file kept off the terminal: the verdict is ours."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


@dataclass(frozen=True)
class Submission:
    """What a submitted PDF holds: its fields, attachments and first page's text."""

    fields: dict[str, str]
    config: str
    manifest: str | None
    first_page: str


def read_submission(data: bytes) -> Submission:
    """A PDF's form fields (name -> text), attached config.toml and manifest.json, and the
    text of its first page (which names the student)."""
    if not data.startswith(b"%PDF-"):
        raise _Rejected("not a PDF (it does not start with %PDF-)")
    from pypdf import PdfReader

    try:
        with _quiet_pypdf():
            reader = PdfReader(io.BytesIO(data))
            fields = reader.get_fields() or {}
            values = {str(name): _field_text(spec.get("/V")) for name, spec in fields.items()}
            attachments = reader.attachments
            configs = attachments.get(CONFIG_ATTACHMENT) or []
            manifests = attachments.get(MANIFEST_ATTACHMENT) or []
            first = (reader.pages[0].extract_text() or "") if len(reader.pages) else ""
    except Exception as exc:  # pypdf raises many kinds on malformed or hostile input
        raise _Rejected(f"not a readable PDF ({type(exc).__name__}: "
                        f"{files.shown(_first_line(exc))[:80]})") from None
    if not configs:
        raise _Rejected(f"carries no {CONFIG_ATTACHMENT}: not a reportgen handout")
    if len(configs) > 1 or len(manifests) > 1:
        raise _Rejected(f"carries {len(configs)} {CONFIG_ATTACHMENT} attachments (altered)")
    try:
        return Submission(values, configs[0].decode("utf-8"),
                          manifests[0].decode("utf-8") if manifests else None, first)
    except UnicodeDecodeError:
        raise _Rejected("its attachments are not UTF-8 text") from None


def _field_text(value: Any) -> str:
    """A form field's value as text: a text field's string, a choice's option name."""
    if value is None:
        return ""
    text = str(value)
    return text[1:] if text.startswith("/") and len(text) <= 3 else text


def _identify(submission: Submission, students: Mapping[str, Student]) -> str:
    """The student id of a submission that is what it claims: its config is the one
    batch.json records for that student's copy, its own manifest was made from that
    config, and its first page names that student."""
    try:
        config = validate(parse_toml(submission.config, CONFIG_ATTACHMENT),
                          source=CONFIG_ATTACHMENT)
    except ConfigError as exc:
        raise _Rejected(f"its attached config is unreadable "
                        f"({files.shown(_first_line(exc))[:120]})") from None
    if config.student is None:
        raise _Rejected("its config names no student")
    sid = config.student.id
    student = students.get(sid)
    if student is None:
        raise _Rejected(f"student {files.shown(sid)!r} is not in this batch")
    if student.config_sha256 != config.digest():
        raise _Rejected(f"its config differs from the one built for student "
                        f"{files.shown(sid)!r} (altered, or from another batch)")
    made_from = _manifest_config(submission.manifest)
    if made_from is not None and made_from != config.digest():
        owner = next((s.id for s in students.values() if s.config_sha256 == made_from), None)
        raise _Rejected(f"its attached config (student {files.shown(sid)!r}) is not the one "
                        f"its pages were made from"
                        f"{f' (student {files.shown(owner)!r})' if owner else ''}: a config "
                        f"swapped in")
    page = " ".join(unicodedata.normalize("NFC", submission.first_page).split())
    if f"student {sid}" not in page and f"Prepared for {sid}" not in page:
        raise _Rejected(f"its first page does not name student {files.shown(sid)!r}, whom "
                        f"its config names: a config swapped in")
    return sid


def _manifest_config(text: str | None) -> str | None:
    """The config sha256 a PDF's own manifest records (None without one)."""
    if text is None:
        return None
    try:
        value = json.loads(text).get("config_sha256")
    except (ValueError, AttributeError, RecursionError):
        raise _Rejected("its attached manifest.json is not reportgen's") from None
    return value if isinstance(value, str) else None


def mark(path: Path, students: Mapping[str, Student],
         key: Mapping[str, Mapping[str, KeyRow]], order: Sequence[str]) -> Marked:
    """Score one submission (or say why it cannot be scored)."""
    marked = Marked(path)
    try:
        data = files.read_bounded(path, MAX_SUBMISSION_BYTES, "submission")
    except files.NotReadable as exc:
        marked.rejected = str(exc).removeprefix("submission: ")
        return marked
    marked.sha256 = hashlib.sha256(data).hexdigest()
    try:
        submission = read_submission(data)
        marked.student_id = _identify(submission, students)
    except _Rejected as reason:
        marked.rejected = str(reason)
        return marked
    expected = key.get(marked.student_id, {})
    for exercise_id in order:
        row = expected.get(exercise_id)
        if row is None:
            continue
        typed = submission.fields.get(exercise_id, "")
        marked.typed[exercise_id] = typed[:MAX_TYPED_CHARS]
        right, unreadable = row.scores(typed)
        marked.scores[exercise_id] = row.points if right else 0.0
        if not typed.strip():
            marked.notes.append(f"{exercise_id}: blank")
        elif unreadable:
            marked.notes.append(f"{exercise_id}: {unreadable} {files.shown(typed[:40])!r}")
    return marked


# ---------------------------------------------------------------- a grade run


@dataclass
class Graded:
    """A grade run: each submission's outcome, and what happened to earlier marks."""

    marked: list[Marked]
    replaced: list[str] = field(default_factory=list)  # "student s001: a.pdf replaces b.pdf"


def grade(folder: Path, submissions: Sequence[Path], replace: bool = False) -> Graded:
    """Mark every submission and merge the marks into ``folder/grades.csv`` (and the LMS
    exports); the batch's index is rendered again with the marks.

    Raises:
      ConfigError: ``folder`` is not a complete batch with the key it records, or its
        grades.csv is unreadable.
      GradeConflict: two submissions for one student (or one file twice), or a student
        marked before from another file without ``replace``: nothing is written.
    """
    record = read_record(folder)
    order, key = read_key(folder, record)
    roster = {student.id: student for student in students_of(record)}
    _refuse_the_same_file_twice(submissions)
    marked = [mark(Path(path), roster, key, order) for path in submissions]
    _refuse_two_for_one(marked)
    earlier = gradebook.read(folder, order)
    replaced = _check_earlier(marked, earlier, replace)
    rows = _merged(roster, earlier, marked, order)
    name = str(record.get("name") or "batch")
    possible = sum(row.points for row in next(iter(key.values()), {}).values())
    output.replace_file(folder / gradebook.GRADES_FILE,
                        gradebook.grades_csv(rows, order).encode("utf-8"))
    output.replace_file(folder / gradebook.MOODLE_FILE,
                        gradebook.moodle_csv(rows, name).encode("utf-8"))
    output.replace_file(folder / gradebook.CANVAS_FILE,
                        gradebook.canvas_csv(rows, name, possible).encode("utf-8"))
    from reportgen.course import index

    index.write(folder, record)
    return Graded(marked, replaced)


def _refuse_the_same_file_twice(submissions: Sequence[Path]) -> None:
    seen: dict[str, Path] = {}
    for path in submissions:
        try:
            identity = str(os.path.realpath(path))
        except (OSError, ValueError):
            identity = str(path)
        if identity in seen:
            raise GradeConflict(f"{files.shown(path)} is given twice (as "
                                f"{files.shown(seen[identity])}); nothing was written")
        seen[identity] = Path(path)


def _refuse_two_for_one(marked: Sequence[Marked]) -> None:
    first: dict[str, Marked] = {}
    for item in marked:
        if item.rejected is None and item.student_id is not None:
            other = first.setdefault(item.student_id, item)
            if other is not item:
                same = " (the same file)" if other.sha256 == item.sha256 else ""
                raise GradeConflict(f"student {files.shown(item.student_id)!r} has two "
                                    f"submissions, {other.shown} and {item.shown}{same}; grade "
                                    f"one of them; nothing was written")


def _check_earlier(marked: Sequence[Marked], earlier: Mapping[str, gradebook.Row],
                   replace: bool) -> list[str]:
    """Submissions for students marked before from another file: refused without
    ``replace``, else listed as replacements."""
    replaced = []
    for item in marked:
        if item.rejected is not None or item.student_id is None:
            continue
        before = earlier.get(item.student_id)
        if before is None or not before.sha256 or before.sha256 == item.sha256:
            continue
        line = (f"student {files.shown(item.student_id)}: {item.shown} replaces "
                f"{files.shown(before.submission)} ({before.total or 0} points)")
        if not replace:
            raise GradeConflict(f"student {files.shown(item.student_id)!r} was marked before "
                                f"from {files.shown(before.submission)}; {item.shown} is "
                                f"another file: pass --replace to mark it instead; nothing "
                                f"was written")
        replaced.append(line)
    return replaced


def _merged(roster: Mapping[str, Student], earlier: Mapping[str, gradebook.Row],
            marked: Sequence[Marked], order: Sequence[str]) -> list[gradebook.Row]:
    """Every roster student's row (marked now, before, or not at all), then earlier rows
    of students no longer in the batch."""
    now = {m.student_id: m for m in marked if m.rejected is None and m.student_id}
    rows = []
    for sid, student in roster.items():
        item = now.get(sid)
        if item is not None:
            rows.append(gradebook.Row(
                sid, student.name, dict(item.typed),
                {e: _points_text(item.scores.get(e, 0.0)) for e in order},
                _points_text(item.total), item.path.name, item.sha256, "; ".join(item.notes)))
        elif sid in earlier:
            row = earlier[sid]
            row.name = student.name
            rows.append(row)
        else:
            rows.append(gradebook.Row(sid, student.name, total="0",
                                      note="no submission"))
    rows += [row for sid, row in earlier.items() if sid not in roster]
    return rows


def _points_text(points: float) -> str:
    return f"{points:g}"
