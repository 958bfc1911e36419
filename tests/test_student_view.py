"""What a student copy withholds, by construction: the dependency map, the student view,
the prompts it refuses, and the leak check's reading of numbers.

Every entry of the map is tested to be what it claims: the answer follows from the field
in one arithmetic step, written here independently of the code (numpy on the computed
results). The map covers every answer path the shipped course uses and every exercise kind.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from results_fixture import make_results, with_exercises

import reportgen
from reportgen import pipeline
from reportgen.config import ConfigError, validate
from reportgen.config.course_mode import EXERCISE_KINDS
from reportgen.render.leaks import find_in_text, gives_away, numbers
from reportgen.store import answers as answers_io
from reportgen.store import kinds
from reportgen.store import results as results_io
from reportgen.store.answers import DEPENDENCIES, answers
from reportgen.store.results import Results, resolve
from reportgen.store.student import check_exercises, student_view, without

STABLE = {"id": "stable-rate", "prompt": "From H, compute 2/λ_max.",
          "answer": "diagnostics.max_stable_lr"}
SLOPE = {"id": "slope", "prompt": "Compute θ1*.", "answer": "ols.theta.1"}
STEPS = {"id": "steps", "prompt": "Two steps.", "kind": "gd-steps", "start": [0.0, 0.0],
         "learning_rate": 0.05, "steps": 2}
REACH = {"id": "reach", "prompt": "Count.", "kind": "steps-to", "start": [0.0, 0.0],
         "learning_rate": 0.3, "fraction": 0.01}
CHOICE = {"id": "which", "prompt": "Which?", "kind": "choice",
          "options": [0.05, 0.2, 0.3, 0.7], "question": "diverges"}


def results_for(*exercises: dict[str, Any], runs: list[dict[str, Any]] | None = None,
                **options: Any) -> Results:
    """The notebook's data (small surface) with ``exercises`` for a student copy."""
    base = make_results(runs or [{"name": "GD", "learning_rate": 0.1, "epochs": 10,
                                  "batch_size": None}], resolution=12, **options)
    return with_exercises(base, list(exercises))


def _h(r: Results) -> np.ndarray:
    return np.asarray(r.diagnostics.hessian)


def _lmin_from_max(r: Results) -> float:
    """lambda_min from lambda_max and the printed trace: one subtraction."""
    return float(np.trace(_h(r))) - 2.0 / float(resolve(r, "diagnostics.max_stable_lr"))


#: (answer, field) -> the answer computed from the field (and what the copy prints: H,
#: the run's rate) in one arithmetic step, written independently of reportgen's code.
ONE_STEP: dict[tuple[str, str], Callable[[Results], float]] = {
    ("diagnostics.max_stable_lr", "diagnostics.hessian_eigenvalues"):
        lambda r: 2.0 / float(resolve(r, "diagnostics.hessian_eigenvalues.1")),
    ("diagnostics.max_stable_lr", "diagnostics.max_stable_lr"):
        lambda r: float(resolve(r, "diagnostics.max_stable_lr")),
    ("diagnostics.max_stable_lr", "diagnostics.optimal_lr"):
        lambda r: 2.0 / (2.0 / float(resolve(r, "diagnostics.optimal_lr"))
                         - float(resolve(r, "diagnostics.hessian_eigenvalues.0"))),
    ("diagnostics.max_stable_lr", "diagnostics.condition_number"):
        lambda r: 2.0 / (np.trace(_h(r)) * float(resolve(r, "diagnostics.condition_number"))
                         / (1.0 + float(resolve(r, "diagnostics.condition_number")))),
    ("diagnostics.max_stable_lr", "runs.*.predicted_rate"):
        lambda r: 2.0 * r.runs[0].learning_rate / (1.0 + float(r.runs[0].predicted_rate or 0))
        if (r.runs[0].predicted_rate or 0) > abs(1 - r.runs[0].learning_rate * _lmin_from_max(r))
        + 1e-12 else 2.0 / (np.trace(_h(r)) - (1.0 - float(r.runs[0].predicted_rate or 0))
                            / r.runs[0].learning_rate),
    ("ols.theta.*", "ols.theta"): lambda r: float(resolve(r, "ols.theta.1")),
    ("ols.theta.*", "ols.xtx"): lambda r: float(np.linalg.solve(
        np.asarray(r.ols.xtx), np.asarray(r.ols.xty))[1]),
    ("ols.theta.*", "ols.xty"): lambda r: float(np.linalg.solve(
        np.asarray(r.ols.xtx), np.asarray(r.ols.xty))[1]),
}


def test_every_map_entry_is_tested_one_step() -> None:
    """Each (answer, field) pair of the map has an independent one-step formula here, or is
    a near-value entry (tested below) or the sweep (a lookup, tested below)."""
    for key, entry in DEPENDENCIES.items():
        for step in entry.steps:
            if step.near or step.field == "sweep":
                continue
            answer = "diagnostics.max_stable_lr" if key.startswith("diagnostics") or \
                key == "choice" else key
            assert (answer, step.field) in ONE_STEP, (key, step.field)


@pytest.mark.parametrize(("answer", "field"), sorted(ONE_STEP))
def test_the_answer_follows_from_the_field_in_one_step(answer: str, field: str) -> None:
    results = make_results(resolution=12)
    expected = float(resolve(results, answer.replace("*", "1")))
    assert ONE_STEP[(answer, field)](results) == pytest.approx(expected, rel=1e-9)


def test_the_curvature_answers_follow_from_each_other() -> None:
    """The eigen family is one entry: each of its answers follows from the Hessian's
    eigenvalues in one step, so all withhold the same fields."""
    r = make_results(resolution=12)
    low, high = (float(v) for v in np.linalg.eigvalsh(_h(r)))
    assert resolve(r, "diagnostics.optimal_lr") == pytest.approx(2 / (low + high), rel=1e-12)
    assert resolve(r, "diagnostics.condition_number") == pytest.approx(high / low, rel=1e-9)
    fields = {key: {s.field for s in entry.steps} for key, entry in DEPENDENCIES.items()
              if key.startswith("diagnostics")}
    assert len({frozenset(v) for v in fields.values()}) == 1


def test_a_fine_sweep_brackets_the_stable_rate() -> None:
    """Why the sweep is withheld with the curvature: its first diverged rate and the one
    below it bracket 2/lambda_max, within a step of its grid."""
    sweep = {"min_rate": 0.3, "max_rate": 0.6, "num": 301, "epochs": 2000, "init": [0.0, 0.0]}
    config = validate({"data": {"n": 40}, "surface": {"resolution": 12}, "sweep": sweep,
                       "device": "cpu"})
    r = reportgen.compute(config).value
    assert r.sweep is not None and r.diagnostics.max_stable_lr is not None
    first = float(r.sweep.learning_rates[int(np.flatnonzero(r.sweep.diverged)[0])])
    assert first >= r.diagnostics.max_stable_lr
    assert first / r.diagnostics.max_stable_lr - 1 <= 0.001  # it scores at 0.1%


def test_the_map_covers_the_shipped_course_and_every_kind() -> None:
    course = reportgen.load_config("lab-course")
    check_exercises(course)  # raises for an answer the map cannot withhold
    assert {e.kind for e in course.exercises} == set(EXERCISE_KINDS)
    for kind in EXERCISE_KINDS:
        assert kind == "value" or kind in DEPENDENCIES
    for exercise in course.exercises:
        assert answers_io.withholding_of(exercise) is not None


def test_the_student_view_lacks_every_field_the_map_names() -> None:
    results = results_for(STABLE, STEPS, REACH, CHOICE, sweep=True)
    view = student_view(results)
    for path in ("diagnostics.hessian_eigenvalues", "diagnostics.max_stable_lr",
                 "diagnostics.optimal_lr", "diagnostics.condition_number",
                 "runs.0.predicted_rate", "sweep"):
        assert resolve(view, path) is None, path
        assert view.withheld is not None and view.withheld[path] == "Exercise 1"
    np.testing.assert_array_equal(view.diagnostics.hessian, results.diagnostics.hessian)
    np.testing.assert_array_equal(view.ols.xtx, results.ols.xtx)  # the exercises' inputs
    text = results_io.dumps(view)
    assert repr(results.diagnostics.max_stable_lr) not in text
    assert repr(float(np.linalg.eigvalsh(_h(results))[1])) not in text
    instructor = with_exercises(results, [STABLE], audience="instructor")
    assert student_view(instructor) is instructor


def test_a_run_that_converged_to_theta_star_is_withheld_there() -> None:
    results = results_for(SLOPE, runs=[{"name": "Long", "learning_rate": 0.4, "epochs": 400,
                                        "batch_size": None, "init": [0.0, 0.0]}])
    assert results.ols.theta is not None
    view = student_view(results)
    assert view.ols.theta is None and view.ols.xtx is None and view.ols.xty is None
    assert view.runs[0].final_theta is None
    assert view.surface.argmin is not None  # a coarse grid's minimum is not within 0.1%
    thetas = view.runs[0].thetas
    assert np.isnan(thetas[-1]).all() and not np.isnan(thetas[0]).any()
    kept = thetas[~np.isnan(thetas[:, 1]), 1]
    star = float(results.ols.theta[1])
    assert np.all(np.abs(kept - star) > 0.001 * abs(star))


def test_without_reaches_list_items() -> None:
    results = make_results(resolution=12)
    view = without(results, ["runs.0.final_loss", "runs.1.full_batch_twin.final_theta"])
    assert view.runs[0].final_loss is None and results.runs[0].final_loss is not None
    assert view.runs[1].full_batch_twin is not None
    assert view.runs[1].full_batch_twin.final_theta is None
    assert view.runs[1].final_loss == results.runs[1].final_loss
    for bad in ("runs.7.final_loss", "runs.x.final_loss", "runs.0", "runs.0.thetas"):
        with pytest.raises(KeyError):
            without(results, [bad])


@pytest.mark.parametrize(("exercises", "message"), [
    ([{**STABLE, "answer": "runs.0.final_loss"}],
     r"exercises\[0\]\.answer: a student copy cannot withhold what 'runs.0.final_loss'"),
    ([SLOPE, STEPS], r"exercises\[1\] \(steps\): needs ols.xtx, which exercises\[0\] "
                     r"\(slope\) withholds"),
    ([{**STEPS, "learning_rate": 0.1}], r"runs\[0\]: repeats exercises\[0\] \(steps\)"),
    ([{**CHOICE, "options": [0.1, 0.9]}], r"runs\[0\]: runs at a rate exercises\[0\] "
                                           r"\(which\) offers \(0.1\)"),
])
def test_exercises_a_copy_cannot_keep_secret_are_refused(exercises: list[dict[str, Any]],
                                                        message: str) -> None:
    config = validate({"data": {"n": 40}, "exercises": exercises,
                       "runs": [{"learning_rate": 0.1, "init": [0.0, 0.0]}]})
    with pytest.raises(ConfigError, match=message):
        check_exercises(config)


# ---------------------------------------------------------------- the kinds' answers


def _independent(r: Results) -> dict[str, Any]:
    """Each kind's answer from the results by a plain numpy loop of its own."""
    a, b, n = np.asarray(r.ols.xtx), np.asarray(r.ols.xty), r.data.n
    theta = np.zeros(2)
    for _ in range(2):
        theta = theta - 0.05 * 2 / n * (a @ theta - b)
    star, floor = np.linalg.solve(a, b), float(r.ols.loss)
    t, k = np.zeros(2), 0
    while (t - star) @ a @ (t - star) / n > 0.01 * floor:
        t, k = t - 0.3 * 2 / n * (a @ t - b), k + 1
    lmax = np.linalg.eigvalsh(2 / n * a)[1]
    letter = "ABCD"[[0.05, 0.2, 0.3, 0.7].index(next(o for o in [0.05, 0.2, 0.3, 0.7]
                                                       if o > 2 / lmax))]
    return {"stable-rate": 2 / lmax, "steps": theta[1], "reach": k, "which": letter}


def test_each_kind_answers_as_an_independent_numpy_loop() -> None:
    results = results_for(STABLE, STEPS, REACH, CHOICE)
    want = _independent(results)
    got = {a.exercise.id: a for a in answers(results)}
    assert got["stable-rate"].value == pytest.approx(want["stable-rate"], rel=1e-12)
    assert got["steps"].value == pytest.approx(want["steps"], rel=1e-12)
    assert got["reach"].text == str(want["reach"]) and got["which"].text == want["which"]


def test_a_diverging_rate_reaches_nowhere_without_a_warning() -> None:
    a, n = np.array([[100.0, 10.0], [10.0, 50.0]]), 100  # H = 2/n A: lambda_max 2.14
    star = np.array([1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow warning would reach the user
        assert kinds.steps_to(a, a @ star, n, star, 1.0, [0.0, 0.0], 1.5, 0.01) is None
        assert kinds.steps_to(a, a @ star, n, star, 1.0, [0.0, 0.0], 0.5, 0.01) is not None


def test_a_question_without_one_clear_answer_is_refused() -> None:
    results = results_for({**CHOICE, "options": [0.05, 0.1 + 1e-9, 0.2]})  # none diverges
    assert answers_io.unfair_exercises(results)
    with pytest.raises(ConfigError, match=r"exercises\[0\] \(which\): not exactly one"):
        answers(results)


def test_inputs_are_printed_with_the_digits_the_tolerance_needs() -> None:
    results = results_for(STABLE, STEPS)
    for exercise in results.config.exercises:
        inputs = answers_io.exercise_inputs(results, exercise)
        digits = answers_io.printed_digits(inputs, exercise)
        exact = answers_io.answer_from(inputs, exercise)
        fewer = {k: v if k == "n" else kinds.round_significant(v, digits)
                 for k, v in inputs.items()}
        worked = answers_io.answer_from(fewer, exercise)
        assert exact is not None and worked is not None
        assert abs(worked - exact) <= 0.1 * exercise.tolerance * abs(exact)


# ---------------------------------------------------------------- prompts


#: λ_max written out from the Hessian a student copy keeps, as a template could.
_H = "diagnostics.hessian"
_LAMBDA_MAX = (f"(({_H}[0][0] + {_H}[1][1]) / 2 + (({_H}[0][0] - {_H}[1][1]) ** 2 / 4 "
               f"+ {_H}[0][1] ** 2) ** 0.5)")


@pytest.mark.parametrize(("prompt", "message"), [
    ('hint: {{ "%.5f"|format(results.diagnostics.max_stable_lr) }}', "uses what a student "
                                                                       "copy does not hold"),
    ("{{ diagnostics.max_stable_lr }}", "uses what a student copy does not hold"),
    ("{{ lambda_max }}", "uses what a student copy does not hold"),
    ("hint: {{ (2 / (" + _H + "[0][0] + " + _H + "[1][1]) * 2 * 1.0)|round(5) }} or "
     "{{ '%.4e'|format(2 / " + _LAMBDA_MAX + ") }}", "gives away the answer to exercises["),
    ("{% set x = 2 / " + _LAMBDA_MAX + " %}{{ (x|string)[:7]|list|join(' ') }}",
     "gives away the answer"),
    ("{% set x = 2 / " + _LAMBDA_MAX + " %}{{ x * 100 }}", "gives away the answer"),
])
def test_a_prompt_that_prints_an_answer_is_refused(prompt: str, message: str) -> None:
    results = results_for({**STABLE, "prompt": "Compute 2/λ_max from H."},
                          {"id": "hint", "prompt": prompt, "answer": "diagnostics.optimal_lr"})
    computed = pipeline.Computed(results)
    with pytest.raises(ConfigError, match=r"exercises\[1\]\.prompt: .*" + __import__(
            "re").escape(message)):
        pipeline.check_student_copy(results.config, computed)


def test_a_prompt_that_prints_numbers_of_its_own_is_fine() -> None:
    results = results_for({**STABLE, "prompt": "With n = {{ data.n }} points and H = "
                                                "{{ diagnostics.hessian }}, compute 2/λ_max."})
    pipeline.check_student_copy(results.config, pipeline.Computed(results))


# ---------------------------------------------------------------- reading numbers


@pytest.mark.parametrize(("text", "spaced", "found"), [
    ("λ_max = 0.47547 and −45.976", False, [0.47547, -45.976]),
    ("2.5 × 10⁻⁷, 1.2e-3 and 4.8 x 10^-1", False, [2.5e-7, 1.2e-3, 0.48]),
    ("sha256 3fa24b 962824ab, numpy 1.26.4, θ1 x2", False, []),
    ("12\u2009345.5 and 0.4 9 8 7 4", False, [12345.5, 0.4, 9, 8, 7, 4]),
    ("0.4 9 8 7 4 and 0 . 4  7", True, [0.49874, 0.47]),
])
def test_numbers_are_read_as_printed(text: str, spaced: bool, found: list[float]) -> None:
    assert [v for _, v in numbers(text, spaced)] == pytest.approx(found)


@pytest.mark.parametrize("text", ["1" + " " * 100_000 + "2", "1." * 100_000,
                                  "1" * 100_000 + "e", "9 " * 50_000 + "x"])
def test_reading_numbers_is_linear(text: str) -> None:
    start = time.perf_counter()
    list(numbers(text, spaced=True))
    list(numbers(text))
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize(("printed", "how"), [(0.4755, "x"), (2.103, "1/x"), (4.206, "2/x"),
                                              (0.951, "x/2"), (0.2377, "2x"),
                                              (0.004755, "100x"), (47.55, "x/100")])
def test_each_one_step_transform_is_a_leak(printed: float, how: str) -> None:
    assert gives_away(printed, 0.47547, 0.001) == how
    assert gives_away(printed * 1.01, 0.47547, 0.001) is None


def test_a_step_count_is_searched_as_steps() -> None:
    results = results_for(REACH)
    answer = answers(results)[0]
    count = int(answer.value)
    assert find_in_text(f"it takes {count} steps", [answer], "here")
    assert not find_in_text(f"page {count} of 9, Figure {count}", [answer], "here")
    assert not math.isnan(answer.value)
