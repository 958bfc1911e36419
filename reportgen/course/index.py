"""A course batch's ``index.html``: one row per student, for the lecturer.

Each row shows the student, their folders (student and instructor copy, the handout to
upload) and build state, the answers of their key, and once ``grade`` has run, their
points and a plot of how the marks are spread. Everything is read from the batch folder's
files (batch.json, answer-key.csv, grades.csv), so ``batch`` and ``grade`` write the same
page, and ``grade`` needs no numbers recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reportgen.config import ConfigError
from reportgen.course import cells, copies, exercises, gradebook
from reportgen.render import FORMAT_FILES
from reportgen.store import output

INDEX_FILE = "index.html"
#: The link text of each file a copy's folder may hold, in FORMAT_FILES order.
FILE_LABELS = {"html": "HTML", "pdf": "PDF", "ipynb": "notebook"}


def write(folder: Path, record: Mapping[str, Any]) -> None:
    """Render the course index of the batch in ``folder`` (its ``record``: batch.json)."""
    from reportgen.render.batch import CourseRow, render_course_index

    order: list[str] = []
    key: dict[str, dict[str, tuple[str, float, float]]] = {}
    if (folder / exercises.KEY_FILE).is_file() and record.get(exercises.KEY_SHA256):
        order, key = exercises.read_key(folder, record)
    try:
        marks = gradebook.read(folder, order) if order else {}
    except ConfigError:
        marks = {}  # a grades.csv of another course: grade says so; the index leaves it out
    rows: dict[str, CourseRow] = {}
    for variant in record.get("variants", []):
        copy = variant.get("copy") or "student"
        student = variant.get("student") or {}
        name = variant["id"].split("/", 1)[-1]
        sid = str(student.get("id") or name)
        row = rows.setdefault(name, CourseRow(student_id=sid, name=str(student.get("name") or ""),
                                              folder=name))
        row.states[copy] = str(variant.get("status"))
        row.redraws = int(variant.get("redraws") or 0)
        if variant.get("error"):
            row.errors.append(str(variant["error"]))
        built = folder / variant["id"]
        row.files[copy] = [(file, FILE_LABELS[fmt]) for fmt, file in FORMAT_FILES.items()
                           if (built / file).is_file()]
        if copy == "student" and (folder / copies.HANDOUTS / f"{name}.pdf").is_file():
            row.handout = f"{copies.HANDOUTS}/{name}.pdf"
        answers = key.get(sid, {})
        row.answers = {e: _answer_text(answers[e][0]) for e in order if e in answers}
        marked = marks.get(sid)
        if marked is not None:
            row.points = dict(marked.points)
            row.total = marked.total
            row.note = marked.note
            row.submitted = bool(marked.submission)
    possible = sum(points for _a, _t, points in next(iter(key.values()), {}).values())
    html = render_course_index(str(record.get("name") or ""), list(rows.values()), order,
                               graded=bool(marks), possible=possible)
    output.replace_file(folder / INDEX_FILE, html.encode("utf-8"))


def _answer_text(answer: str) -> str:
    """A key's answer as the index shows it: a number to six digits, else as written."""
    if not cells.is_plain_number(answer):
        return answer
    value = float(answer)
    return str(int(value)) if value.is_integer() else f"{value:.6g}"
