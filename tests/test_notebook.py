"""The handout as a notebook (``--format ipynb``, issue 25).

The three shipped handouts are built once per module, and the shared course (every
exercise kind, tests/course_fixture.py) once per run, with the real command line; each
notebook is executed top to bottom by nbclient in a python3 kernel and the numbers it
prints are compared with results.json (recomputed by reportgen for a student copy, whose
folder holds none): the data exactly, each run's final θ, θ* and the grid's minimum within 1e-9.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from cli_process import run_reportgen
from nbclient import NotebookClient

import reportgen
from reportgen.config import validate
from reportgen.course import cells
from reportgen.render.markdown import read_handout
from reportgen.render.notebook import render_notebook
from reportgen.store.results import Results
from reportgen.store.student import without

pytestmark = pytest.mark.slow

NOTEBOOK = "handout.ipynb"
SHIPPED = ("source-notebook", "learning-rates", "optimizers")
TIMEOUT_S = 120  # per cell; a whole notebook runs in seconds
#: Appended by the tests (not part of the notebook): prints the data the notebook made.
DATA_CELL = 'print(json.dumps({"x": x.tolist(), "y": y.tolist()}))'


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The shipped handouts, built once: source-notebook as HTML and a notebook, the others as
    notebooks only (what these tests read)."""
    root = tmp_path_factory.mktemp("notebooks")
    built = {}
    for name in SHIPPED:
        formats = "html,ipynb" if name == "source-notebook" else "ipynb"
        built[name] = root / name
        run_reportgen("build", name, "--format", formats, "--set", "device=cpu",
                      "--out", str(built[name]), "-q")
    return built


@pytest.fixture(scope="module")
def students(course_batch: Path) -> Path:
    """The shared course (tests/course_fixture.py: a hidden roster and salt, four students,
    every exercise kind), batched with notebooks: a student and an instructor copy each."""
    return course_batch


def student_folders(batch: Path) -> list[Path]:
    """The student copies' folders (``students/<id>``)."""
    return sorted(path for path in (batch / "students").iterdir() if path.is_dir())


def read(path: Path) -> Any:
    return nbformat.read(path, as_version=4)


def execute(notebook: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run a notebook (a copy, with the data cell appended) from the top; return the JSON
    line its last cell printed and the data it made."""
    notebook = nbformat.from_dict(json.loads(json.dumps(notebook)))
    notebook.cells.append(nbformat.v4.new_code_cell(DATA_CELL))
    NotebookClient(notebook, timeout=TIMEOUT_S, kernel_name="python3").execute()
    for cell in notebook.cells:
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        assert not errors, f"{errors[0].ename}: {errors[0].evalue}\n{cell.source}"
    return last_json(notebook.cells[-2]), last_json(notebook.cells[-1])


def last_json(cell: Any) -> dict[str, Any]:
    text = "".join(o.text for o in cell.outputs if o.output_type == "stream" and
                   o.name == "stdout")
    found: dict[str, Any] = json.loads(text.strip().splitlines()[-1])
    return found


def assert_reproduces(printed: dict[str, Any], data: dict[str, Any], results: dict[str, Any],
                      runs: list[int] | None = None) -> None:
    """The notebook's numbers against results.json: data exactly, the rest within 1e-9."""
    assert data["x"] == results["data"]["x"]
    assert data["y"] == results["data"]["y"]
    expected = [results["runs"][i] for i in (runs if runs is not None
                                              else range(len(results["runs"])))]
    assert [run["name"] for run in printed["runs"]] == [run["name"] for run in expected]
    for mine, theirs in zip(printed["runs"], expected, strict=True):
        if theirs["final_theta"] is None:  # overflowed
            assert mine["final_theta"] is None
            continue
        np.testing.assert_allclose(mine["final_theta"], theirs["final_theta"], rtol=1e-9,
                                   atol=1e-9, err_msg=mine["name"])
    if "ols" in printed:
        np.testing.assert_allclose(printed["ols"]["theta"], results["ols"]["theta"],
                                   rtol=1e-9, atol=1e-9)
    surface = printed.get("surface", {})
    if "argmin" in surface:
        assert surface["argmin"] == results["surface"]["argmin"]
    if "min_loss" in surface:
        np.testing.assert_allclose(surface["min_loss"], results["surface"]["min_loss"],
                                   rtol=1e-9)


def code_of(notebook: Any) -> str:
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")


# ---------------------------------------------------------------- the shipped handouts


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_notebook_reproduces_results(folders: dict[str, Path], name: str) -> None:
    notebook = read(folders[name] / NOTEBOOK)
    nbformat.validate(notebook)
    assert all(not cell.get("outputs") and cell.get("execution_count") is None
               for cell in notebook.cells if cell.cell_type == "code")
    assert not re.search(r"^\s*(import|from) (reportgen|jax)\b", code_of(notebook), re.M)
    printed, data = execute(notebook)
    results = json.loads((folders[name] / "results.json").read_text())
    assert {"runs", "ols", "surface"} <= set(printed)
    assert_reproduces(printed, data, results)


def test_notebook_carries_the_handouts_sections_and_equations(
        folders: dict[str, Path]) -> None:
    notebook = read(folders["source-notebook"] / NOTEBOOK)
    page = (folders["source-notebook"] / "index.html").read_text(encoding="utf-8")
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    for heading in re.findall(r"<section id=\"[^\"]+\">\s*<h2>([^<]+)</h2>", page):
        assert f"## {heading}" in markdown
    assert "$$\n\\nabla L(\\theta)" in markdown or "$$\n\\nabla J(\\theta)" in markdown
    assert "<img" not in markdown and "data:" not in markdown
    # the algorithm the handout prints, line for line, in the run's code cell
    listing = re.search(r"<pre class=\"code\"><code>(def gradient_descent.*?)</code>", page,
                        re.S)
    assert listing is not None
    code = code_of(notebook)
    for line in listing.group(1).splitlines():
        assert line.replace("return theta", "return np.array(path)") in code.splitlines()


def test_two_builds_give_the_same_bytes(folders: dict[str, Path], tmp_path: Path) -> None:
    again = tmp_path / "again"
    run_reportgen("build", "source-notebook", "--format", "ipynb", "--set", "device=cpu",
                  "--out", str(again), "-q")
    first = (folders["source-notebook"] / NOTEBOOK).read_bytes()
    assert (again / NOTEBOOK).read_bytes() == first
    ids = [cell["id"] for cell in json.loads(first)["cells"]]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"[a-z]{16}", i) for i in ids)
    assert json.loads(first)["metadata"] == {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}}


def test_verify_checks_the_notebook(folders: dict[str, Path], tmp_path: Path) -> None:
    report = folders["source-notebook"]
    manifest = json.loads((report / "manifest.json").read_text())
    assert NOTEBOOK in manifest["files"]
    altered = tmp_path / "altered"
    shutil.copytree(report, altered)
    path = altered / NOTEBOOK
    data = bytearray(path.read_bytes())
    index = data.index(b"paths = {}")
    data[index] = ord("P")
    path.write_bytes(bytes(data))
    # listed with its new hash (a changed file the manifest does not list is test_verify's),
    # the change is found by the byte-for-byte rebuild
    manifest["files"][NOTEBOOK] = hashlib.sha256(bytes(data)).hexdigest()
    (altered / "manifest.json").write_text(json.dumps(manifest, sort_keys=True, indent=1))
    failed = run_reportgen("verify", str(altered), check=False)  # one run: what changed
    assert failed.returncode == 1
    assert "NOT reproduced: 2 difference(s)" in failed.stdout  # the notebook, the manifest
    assert "  manifest.json: differs from the rebuilt file" in failed.stdout
    assert "index.html and handout.ipynb included" in failed.stdout
    assert f"{NOTEBOOK}: differs from the rebuilt file (first difference at byte {index}" \
        in failed.stdout


# ---------------------------------------------------------------- student copies


def answer_rows(batch: Path) -> list[dict[str, str]]:
    """answer-key.csv's rows, each ``student_id`` replaced by its student copy's folder name
    (batch.json pairs them; the key neutralises an id that looks like a formula)."""
    folders = {row["student"]["id"]: Path(row["id"]).name
               for row in json.loads((batch / "batch.json").read_text())["variants"]
               if row["copy"] == "student"}
    rows = list(csv.DictReader((batch / "answer-key.csv").open(encoding="utf-8")))
    return [{**row, "student_id": folders[cells.text_of(row["student_id"])]} for row in rows]


def is_count(row: dict[str, str]) -> bool:
    return bool(re.fullmatch(r"\d+", row["answer"]))


def answers(batch: Path) -> dict[str, list[tuple[str, float, float]]]:
    """The measured answers, by student. A choice's letter has no number to find; a count
    of steps is searched as the product's leak check searches it (``counts``): every page
    has small integers, and a loss of 18.0 is no count of 18 steps."""
    found: dict[str, list[tuple[str, float, float]]] = {}
    for row in answer_rows(batch):
        if re.fullmatch(r"[A-Z]", row["answer"]) or is_count(row):
            continue
        found.setdefault(row["student_id"], []).append(
            (row["exercise_id"], float(row["answer"]), float(row["tolerance"] or 0)))
    return found


def counts(batch: Path) -> dict[str, list[tuple[str, int]]]:
    found: dict[str, list[tuple[str, int]]] = {}
    for row in answer_rows(batch):
        if is_count(row):
            found.setdefault(row["student_id"], []).append(
                (row["exercise_id"], int(row["answer"])))
    return found


def count_spellings(steps: int) -> set[str]:
    return {f"{steps} steps", f"step {steps}", f"{steps} iterations", f"iteration {steps}"}


def spellings(value: float) -> set[str]:
    return {f"{value:.3f}", f"{value:.4f}", f"{value:.6f}", repr(value)}


NUMBER = re.compile(r"(?<![\w.])[-−]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def near_misses(text: str, value: float, tolerance: float) -> list[str]:
    """Numbers of at least three significant digits in ``text`` within ``tolerance`` of the
    answer or of a quantity one step from it (x, 1/x, 2/x, x/2, 2x, 100x, x/100)."""
    derived = {"x": value, "1/x": 1 / value, "2/x": 2 / value, "x/2": value / 2,
               "2x": 2 * value, "100x": 100 * value, "x/100": value / 100}
    found = []
    for match in NUMBER.finditer(text):
        written = match.group(0)
        digits = written.lstrip("-−").split("e")[0].split("E")[0].replace(".", "").lstrip("0")
        if len(digits) < 3:
            continue
        number = float(written.replace("−", "-"))
        found += [f"{written} ~ {name} = {target!r} at {text[match.start() - 40:match.end()]!r}"
                  for name, target in derived.items()
                  if abs(number - target) <= tolerance * abs(target)]
    return found


def test_student_notebook_runs_on_the_students_own_data(students: Path) -> None:
    folder = student_folders(students)[0]
    assert not (folder / "results.json").exists()
    notebook = read(folder / NOTEBOOK)
    nbformat.validate(notebook)
    code = code_of(notebook)
    assert "eigvalsh" not in code and "lam_max" not in code  # what 2/λ_max follows from
    assert code.count("answer = ...") == 4
    assert all(not cell.get("outputs") and cell.get("execution_count") is None
               for cell in notebook.cells if cell.cell_type == "code")
    config = reportgen.load_config(folder / "config.toml")
    assert f"seed = {config.seed}\n" in code and config.students is None
    printed, data = execute(notebook)
    assert "diagnostics" not in printed  # the curvature, which 2/λ_max follows from
    assert_reproduces(printed, data, reportgen.compute(config).value.to_dict())


def test_student_notebooks_hold_no_answer(students: Path) -> None:
    key = answers(students)
    folders = student_folders(students)
    assert len(folders) == 4
    salt = (students.parent / "course.salt").read_text(encoding="utf-8").strip()
    for folder in folders:
        text = (folder / NOTEBOOK).read_text(encoding="utf-8")
        notebook = read(folder / NOTEBOOK)
        student = folder.name
        assert salt not in text
        own = code_of(notebook) + json.dumps(notebook.metadata) + json.dumps(
            [cell.metadata for cell in notebook.cells])
        for exercise, value, tolerance in key[student]:
            assert not [s for s in spellings(value) if s in text], (student, exercise)
            assert not near_misses(own, value, tolerance), (student, exercise)
        assert counts(students)[student]  # the course asks for a count
        for exercise, steps in counts(students)[student]:
            assert not [s for s in count_spellings(steps) if s in text], (student, exercise)


def test_student_notebooks_prose_holds_no_quantity_one_step_from_an_answer(
        students: Path) -> None:
    key = answers(students)
    misses = []
    for folder in student_folders(students):
        text = (folder / NOTEBOOK).read_text(encoding="utf-8")
        for _exercise, value, tolerance in key[folder.name]:
            misses += near_misses(text, value, tolerance)
    assert not misses, misses[:3]


def test_the_batch_index_links_each_students_notebook(students: Path) -> None:
    page = (students / "index.html").read_text(encoding="utf-8")
    for folder in student_folders(students):
        assert f'<a href="students/{folder.name}/{NOTEBOOK}">notebook</a>' in page


def test_instructor_notebook_has_the_solutions_as_code(folders: dict[str, Path]) -> None:
    results = with_lab_exercises(folders, "instructor")
    notebook = nbformat.reads(render_notebook(results, "").decode(), as_version=4)
    code = code_of(notebook)
    assert "answer = 2 / lam_max" in code and "answer = theta_star[1]" in code
    assert "lstsq" in code and "eigvalsh" in code


def with_lab_exercises(folders: dict[str, Path], audience: str) -> Results:
    results = Results.loads((folders["source-notebook"] / "results.json").read_text())
    exercises = [{"id": "stable-rate", "prompt": "2/L?", "answer": "diagnostics.max_stable_lr"},
                 {"id": "ols-slope", "prompt": "slope?", "answer": "ols.theta.1"}]
    raw = {**results.config.normalised(), "exercises": exercises, "audience": audience}
    return results.restamped(validate(raw, source="test config"))


# ---------------------------------------------------------------- results without fields


def test_notebook_leaves_out_what_the_results_do_not_hold(folders: dict[str, Path]) -> None:
    report = folders["source-notebook"]
    full = Results.loads((report / "results.json").read_text())
    view = without(full, ["diagnostics.max_stable_lr", "diagnostics.hessian_eigenvalues",
                          "diagnostics.condition_number", "diagnostics.optimal_lr",
                          "ols.theta", "ols.xtx", "ols.xty", "surface.argmin"])
    page = (report / "index.html").read_text(encoding="utf-8")
    notebook = nbformat.reads(render_notebook(view, page).decode(), as_version=4)
    code = code_of(notebook)
    for absent in ("lstsq", "theta_star", "eigvalsh", "lam_max", "X.T @ y", "theta0_axis[col]"):
        assert absent not in code, absent
    assert "H = 2 / n * X.T @ X" in code and "J_grid[row, col]" in code
    printed, data = execute(notebook)
    assert set(printed) == {"runs", "surface"} and set(printed["surface"]) == {"min_loss"}
    assert_reproduces(printed, data, full.to_dict())


# ---------------------------------------------------------------- other rules and streams


def computed(raw: dict[str, Any]) -> Results:
    config = reportgen.Config.model_validate({"device": "cpu", **raw})
    return reportgen.compute(config, cache=False).value


def test_every_rule_on_batches_and_a_diverging_run() -> None:
    runs = [{"name": "momentum on batches", "optimizer": "momentum", "learning_rate": 0.05,
             "epochs": 3, "batch_size": 10, "momentum": 0.8},
            {"name": "Adam, short last batch", "optimizer": "adam", "learning_rate": 0.2,
             "epochs": 2, "batch_size": 30},
            {"name": "RMSProp", "optimizer": "rmsprop", "learning_rate": 0.05, "epochs": 25,
             "init": [-2.0, 8.0]},
            {"name": "Nesterov on batches", "optimizer": "nesterov", "learning_rate": 0.05,
             "epochs": 2, "batch_size": 25, "init": [-2.0, 8.0]},
            {"name": "above 2/L", "optimizer": "gd", "learning_rate": 0.6, "epochs": 30}]
    results = computed({"runs": runs, "surface": {"resolution": 40}})
    assert results.runs[4].diverged
    notebook = nbformat.reads(render_notebook(results, "").decode(), as_version=4)
    assert "def minibatch_momentum(" in code_of(notebook)
    printed, data = execute(notebook)
    assert_reproduces(printed, data, results.to_dict())


def test_a_jax_stream_is_written_out() -> None:
    runs = [{"name": "full batch", "epochs": 10},
            {"name": "mini-batch", "epochs": 2, "batch_size": 20}]
    results = computed({"data": {"n": 50, "rng": "jax"}, "runs": runs,
                        "surface": {"resolution": 30}})
    notebook = nbformat.reads(render_notebook(results, "").decode(), as_version=4)
    assert "RandomState" not in code_of(notebook)
    printed, data = execute(notebook)
    assert_reproduces(printed, data, results.to_dict(), runs=[0])  # mini-batch: numpy's order


# ---------------------------------------------------------------- reading the page


def test_page_text_is_escaped_and_equations_become_latex() -> None:
    page = """<html><head><title>t</title><style>p{}</style></head><body>
<header><h1>A *bold* [x](y) title</h1><p class="meta">me · 2026</p></header>
<section id="loss"><h2>2. Loss</h2>
<p>With $5 &amp; <b>x</b><sub>i</sub> &lt;script&gt; # not a heading</p>
<div class="equation" id="eq-gradient-run-2"><img src="data:," alt="words"></div>
<p class="display">H = <span class="matrix"><span class="mrow"><span class="mcell">1</span>
<span class="mcell">2</span></span><span class="mrow"><span class="mcell">3</span>
<span class="mcell">4</span></span></span></p>
<figure><figcaption>a caption</figcaption></figure><pre class="code"><code>x = 1</code></pre>
<p class="field"><label>Answer: <input name="a"></label></p>
<p>1. not a list</p></section></body></html>"""
    text = read_handout(page)
    assert text.title == r"A \*bold\* \[x\](y) title" and text.header == ["me · 2026"]
    (section,) = text.sections
    assert section.anchor == "loss" and section.heading == "2. Loss"
    assert section.parts[0] == r"With \$5 \& **x**<sub>i</sub> \<script\> \# not a heading"
    assert section.parts[1].startswith("$$\n\\nabla ") and section.parts[1].endswith("\n$$")
    assert section.parts[2] == r"H = $\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}$"
    assert section.parts[3] == r"1\. not a list"
    assert len(section.parts) == 4
