"""Course mode, part 2: a handout per student, exercises, answer keys, fillable PDFs, grading.

The answer key is checked against an independent numpy re-derivation of each student's
config; student copies are searched for their answers with real tools (pdftotext, pypdf);
submissions are filled in with pypdf as a PDF reader would, then graded.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader, PdfWriter

from reportgen import cli
from reportgen.config import ConfigError, ExerciseConfig, StudentConfig, StudentsConfig
from reportgen.course import grading, students
from reportgen.render.leaks import find_leaks
from reportgen.store.results import Answer

pytestmark = pytest.mark.slow

COURSE = """\
title = "Gradient descent: your own data"
author = "Lab 3"

[data]
n = 40
theta = [4.0, 3.0]
x_range = [0.0, 2.0]
noise = 1.0

[surface]
resolution = 24

[[runs]]
name = "Batch gradient descent"
learning_rate = 0.1
epochs = 8
init = [0.0, 0.0]

[students]
roster = "roster.csv"
salt = "lab-3 secret"

[students.ranges]
"data.theta" = [[2.0, 6.0], [1.0, 4.0]]

[students.constraints]
condition_number = [5.0, 30.0]
no_divergence = true

[[exercises]]
id = "stable-rate"
prompt = "Compute the largest stable learning rate 2/λ_max for your data."
answer = "diagnostics.max_stable_lr"
tolerance = 0.001
points = 2
solution = "λ_max = {{ lambda_max|num(4) }}, so 2/λ_max = {{ answer|num(4) }}."

[[exercises]]
id = "ols-slope"
prompt = "Compute the least-squares slope of your data."
answer = "ols.theta.1"
tolerance = 0.001
points = 1
solution = "lstsq gives the slope {{ answer|num(4) }}."
"""

ROSTER = """\
id,name,email
s001,Ada Lovelace,ada@example.org
s002,Alan Turing,alan@example.org
s003,Grace Hopper,grace@example.org
s004,Katherine Johnson,kj@example.org
"""

needs_pdftotext = pytest.mark.skipif(not shutil.which("pdftotext"),
                                     reason="poppler-utils not installed; .ci/run installs it")


def reportgen(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reportgen", *args], check=check,
                          capture_output=True, text=True, timeout=900, env=os.environ)


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("course")
    (folder / "course.toml").write_text(COURSE, encoding="utf-8")
    (folder / "roster.csv").write_text(ROSTER, encoding="utf-8")
    return folder / "course.toml"


@pytest.fixture(scope="module")
def student_batch(course: Path) -> Path:
    out = course.parent / "students"
    reportgen("batch", str(course), "--out", str(out), "--jobs", "2", "-q")
    return out


@pytest.fixture(scope="module")
def instructor_batch(course: Path) -> Path:
    out = course.parent / "instructor"
    reportgen("batch", str(course), "--audience", "instructor", "--format", "html",
              "--out", str(out), "-q")
    return out


def variants(batch: Path) -> list[dict]:
    return json.loads((batch / "batch.json").read_text())["variants"]


def key_rows(batch: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((batch / "answer-key.csv").read_text())))


# ---------------------------------------------------------------- students and their streams


def test_roster_reads_id_and_name_and_ignores_other_columns(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("\ufeffID,Name,grade\n a1 , Ann ,3\nb2,,\n", encoding="utf-8")
    assert students.read_roster(path) == [StudentConfig(id="a1", name="Ann"),
                                          StudentConfig(id="b2", name="")]


@pytest.mark.parametrize(("text", "message"), [
    ("name\nAnn\n", "expected a header row with the columns id,name"),
    ("id,name\na1,Ann\na1,Bob\n", "line 3: student id 'a1' appears twice"),
    ("id,name\n,Ann\n", "line 2: expected a student id"),
    ("id,name\n", "expected at least one student"),
    ("id,name\na1,\x1b[2JAnn\n", "line 2: name: Value error, expected text without control "
                                 "characters, got U+001B at character 1"),
    ("id,name\na\x001,Ann\n", "line 2: id: Value error, expected text without control "
                               "characters, got U+0000 at character 2"),
])
def test_bad_rosters_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)):
        students.read_roster(path)


def test_a_students_stream_depends_on_salt_and_id_only() -> None:
    settings = StudentsConfig(roster="r.csv", salt="secret",
                              ranges={"data.noise": (0.5, 2.0)})
    ann, bob = StudentConfig(id="ann"), StudentConfig(id="bob")
    assert students.draw(settings, ann, 0) == students.draw(settings, ann, 0)
    assert students.draw(settings, ann, 0) != students.draw(settings, bob, 0)
    assert students.draw(settings, ann, 0) != students.draw(settings, ann, 1)  # a redraw
    other_salt = settings.model_copy(update={"salt": "another"})
    assert students.draw(settings, ann, 0) != students.draw(other_salt, ann, 0)
    assert 0.5 <= students.draw(settings, ann, 0)["data.noise"] <= 2.0


# ---------------------------------------------------------------- the student batch


def test_four_students_get_four_different_problems(student_batch: Path) -> None:
    rows = variants(student_batch)
    assert [row["student"]["id"] for row in rows] == ["s001", "s002", "s003", "s004"]
    configs = [tomllib.loads((student_batch / row["id"] / "config.toml").read_text())
               for row in rows]
    assert len({config["seed"] for config in configs}) == 4
    assert len({tuple(config["data"]["theta"]) for config in configs}) == 4
    for config, row in zip(configs, rows, strict=True):
        assert config["student"] == {"id": row["student"]["id"], "name": row["student"]["name"]}
        assert "salt" not in json.dumps(config) and "lab-3 secret" not in json.dumps(config)
        assert row["redraws"] >= 0


def _numpy_answers(config: dict) -> dict[str, float]:
    """2/λ_max and the OLS slope of a student's config, re-derived with numpy alone."""
    data = config["data"]
    stream = np.random.RandomState(config["seed"])
    low, high = data["x_range"]
    x = low + (high - low) * stream.rand(data["n"], 1)
    y = data["theta"][0] + data["theta"][1] * x + data["noise"] * stream.randn(data["n"], 1)
    design = np.c_[np.ones(data["n"]), x[:, 0]]
    hessian = 2.0 / data["n"] * design.T @ design
    slope = np.linalg.lstsq(design, y[:, 0], rcond=None)[0][1]
    return {"stable-rate": 2.0 / np.linalg.eigvalsh(hessian)[-1], "ols-slope": slope}


def test_answer_key_matches_a_numpy_rederivation(student_batch: Path) -> None:
    rows = key_rows(student_batch)
    assert len(rows) == 8
    for row in variants(student_batch):
        config = tomllib.loads((student_batch / row["id"] / "config.toml").read_text())
        expected = _numpy_answers(config)
        mine = {r["exercise_id"]: r for r in rows if r["student_id"] == row["student"]["id"]}
        for exercise_id, value in expected.items():
            assert float(mine[exercise_id]["answer"]) == pytest.approx(value, rel=1e-12)
        assert mine["stable-rate"]["points"] == "2" and mine["ols-slope"]["tolerance"] == "0.001"


@needs_pdftotext
def test_no_student_copy_holds_its_answers_anywhere(student_batch: Path) -> None:
    key = key_rows(student_batch)
    for row in variants(student_batch):
        folder = student_batch / row["id"]
        answers = [float(r["answer"]) for r in key if r["student_id"] == row["student"]["id"]]
        spelled = {f"{a:.{d}f}" for a in answers for d in (3, 4, 6)} | {repr(a) for a in answers}
        assert not (folder / "results.json").exists() and not (folder / "surface.npy").exists()
        texts = {p.relative_to(folder).as_posix(): p.read_bytes().decode("latin-1")
                 for p in folder.rglob("*") if p.is_file()}
        texts["pdftotext"] = subprocess.run(
            ["pdftotext", str(folder / "handout.pdf"), "-"], capture_output=True, text=True,
            check=True).stdout
        reader = PdfReader(folder / "handout.pdf")
        assert sorted(reader.attachments) == ["config.toml", "manifest.json"]
        for name, blobs in reader.attachments.items():
            texts[f"attachment {name}"] = blobs[0].decode("utf-8")
        for place, text in texts.items():
            for spelling in spelled:
                assert not re.search(rf"(?<![\d.]){re.escape(spelling)}(?!\d)", text), \
                    (row["id"], place, spelling)


def test_every_student_pdf_has_one_field_per_exercise(student_batch: Path) -> None:
    for row in variants(student_batch):
        fields = PdfReader(student_batch / row["id"] / "handout.pdf").get_fields()
        assert sorted(fields or {}) == ["ols-slope", "stable-rate"]


def test_the_handout_shows_the_students_name_and_id(student_batch: Path) -> None:
    row = variants(student_batch)[1]
    html = (student_batch / row["id"] / "index.html").read_text()
    assert "Alan Turing" in html and "student s002" in html
    assert 'name="stable-rate"' in html and 'name="ols-slope"' in html


def test_the_instructor_copy_has_answers_and_solutions(instructor_batch: Path) -> None:
    key = {(r["student_id"], r["exercise_id"]): float(r["answer"])
           for r in key_rows(instructor_batch)}
    for row in variants(instructor_batch):
        html = (instructor_batch / row["id"] / "index.html").read_text()
        assert (instructor_batch / row["id"] / "results.json").is_file()
        answer = key[(row["student"]["id"], "stable-rate")]
        assert f"{answer:.4f}" in html and "Solution." in html and "<input" not in html


# ---------------------------------------------------------------- grading


def fill(source: Path, target: Path, values: dict[str, str]) -> Path:
    """Type ``values`` into a PDF's fields, as a PDF reader would."""
    writer = PdfWriter(clone_from=PdfReader(source))
    for page in writer.pages:
        if page.get("/Annots"):
            writer.update_page_form_field_values(page, values, auto_regenerate=False)
    writer.write(target)
    return target


def test_grading_gives_full_and_zero_marks(student_batch: Path, tmp_path: Path) -> None:
    key = key_rows(student_batch)
    rows = variants(student_batch)
    right = {r["exercise_id"]: r["answer"] for r in key if r["student_id"] == "s001"}
    good = fill(student_batch / rows[0]["id"] / "handout.pdf", tmp_path / "s001.pdf",
                {"stable-rate": f"{float(right['stable-rate']):.5f}",
                 "ols-slope": f"{float(right['ols-slope']):.4f}".replace(".", ",")})
    bad = fill(student_batch / rows[1]["id"] / "handout.pdf", tmp_path / "s002.pdf",
               {"stable-rate": "0.9", "ols-slope": "≈ 5"})
    done = reportgen("grade", str(student_batch), str(good), str(bad))
    assert "student s001: 3 points" in done.stdout and "student s002: 0 points" in done.stdout
    grades = list(csv.DictReader(io.StringIO((student_batch / "grades.csv").read_text())))
    assert grades == [
        {"student_id": "s001", "stable-rate": "2", "ols-slope": "1", "total": "3"},
        {"student_id": "s002", "stable-rate": "0", "ols-slope": "0", "total": "0"},
    ]


def replace_attached_config(source: Path, target: Path, edit: dict[str, str]) -> Path:
    """A copy of a handout PDF whose attached config.toml has been edited in place."""
    writer = PdfWriter(clone_from=PdfReader(source))
    names = writer._root_object["/Names"]["/EmbeddedFiles"]["/Names"]
    for name, spec in zip(names[::2], names[1::2], strict=True):
        if name == "config.toml":
            stream = spec.get_object()["/EF"]["/F"].get_object()
            text = stream.get_data().decode()
            for old, new in edit.items():
                assert old in text
                text = text.replace(old, new)
            stream.set_data(text.encode())
    writer.write(target)
    return target


def test_altered_unknown_and_foreign_submissions_are_reported(
    student_batch: Path, tmp_path: Path
) -> None:
    original = student_batch / variants(student_batch)[2]["id"] / "handout.pdf"
    config = PdfReader(original).attachments["config.toml"][0].decode()
    seed = re.search(r"^seed = (\d+)$", config, flags=re.M).group(1)  # type: ignore[union-attr]
    altered = replace_attached_config(original, tmp_path / "altered.pdf",
                                      {f"seed = {seed}": f"seed = {int(seed) + 1}"})
    unknown = replace_attached_config(original, tmp_path / "unknown.pdf",
                                      {'id = "s003"': 'id = "x999"'})
    deep = replace_attached_config(original, tmp_path / "deep.pdf",  # was a RecursionError
                                   {f"seed = {seed}": "seed = " + "[" * 50_000 + "]" * 50_000})
    twice = tmp_path / "twice.pdf"
    writer = PdfWriter(clone_from=PdfReader(original))
    writer.add_attachment("config.toml", config.encode())
    writer.write(twice)
    foreign = tmp_path / "foreign.pdf"
    foreign.write_bytes(b"%PDF-1.4 not really")
    done = reportgen("grade", str(student_batch), str(altered), str(unknown), str(deep),
                     str(twice), str(foreign), check=False)
    assert done.returncode == 1
    assert "altered.pdf: NOT SCORED: its config differs from the one built for student 's003'" \
        in done.stdout
    assert "unknown.pdf: NOT SCORED: student 'x999' is not in this batch" in done.stdout
    assert "deep.pdf: NOT SCORED: its attached config is unreadable (config.toml: " \
        in done.stdout
    assert "twice.pdf: NOT SCORED: carries 2 config.toml attachments" in done.stdout
    assert "foreign.pdf: NOT SCORED: not a readable PDF" in done.stdout
    assert "graded 0 of 5" in done.stdout


@pytest.mark.parametrize(("typed", "value"), [
    ("0.48", 0.48), (" 0,48 ", 0.48), ("≈0.5", 0.5), ("~ 0.5", 0.5), ("= -1.5", -1.5),
    ("\u22121.5", -1.5), ("4.8e-1", 0.48), ("4.8 \u00d7 10^-1", 0.48), ("1,234.5", 1234.5),
    ("1 234,5", 1234.5), ("about 2", 2.0), (".5", 0.5),
    ("", None), ("abc", None), ("0.4.8", None), ("1/2", None), ("nan", None), ("inf", None),
    ("0,4,8", None),
])
def test_answers_are_read_by_documented_rules(typed: str, value: float | None) -> None:
    assert grading.parse_answer(typed) == value


def test_marks_are_within_a_relative_tolerance() -> None:
    assert grading.within(0.4845, 0.4841, 0.001) and not grading.within(0.4850, 0.4841, 0.001)
    assert grading.within(0.0005, 0.0, 0.001)


# ---------------------------------------------------------------- the leak check


def test_a_template_that_prints_an_answer_is_refused(course: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    templates = tmp_path / "templates" / "partials"
    templates.mkdir(parents=True)
    (templates / "provenance.html").write_text("<p>2/λ_max is {{ diagnostics.max_stable_lr }}</p>")
    one = tmp_path / "one.toml"  # a handout with exercises, without the roster: build makes it
    one.write_text(re.sub(r"\[students\][\s\S]*?(?=\[\[exercises\]\])", "", COURSE))
    code = cli.main(["build", str(one), "--out", str(tmp_path / "out"), "--format", "html",
                     "--templates", str(tmp_path / "templates"), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "exercises[0] (stable-rate): its answer appears as" in err
    assert "in index.html; refusing to write a student copy" in err
    assert not (tmp_path / "out").exists()


def test_find_leaks_names_each_spelling_and_place() -> None:
    answer = Answer(1, ExerciseConfig(id="a", prompt="p", answer="ols.loss"), 0.48411023)
    files = {"index.html": b"<p>0.4841</p>", "figures/x.svg": b"<text>10.484</text>",
             "notes.txt": b"0.484110"}
    leaks = find_leaks(files, [answer])
    assert leaks == ["exercises[0] (a): its answer appears as 0.4841 in index.html",
                     "exercises[0] (a): its answer appears as 0.484110 in notes.txt"]


def test_verify_rebuilds_student_copies_from_their_config(student_batch: Path) -> None:
    done = reportgen("verify", str(student_batch / variants(student_batch)[0]["id"]))
    assert "reproduced" in done.stdout and "NOT" not in done.stdout
    assert "no numbers (a student copy carries no results" in done.stdout
    assert "with a rebuild (index.html and handout.pdf included)" in done.stdout
