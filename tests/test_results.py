"""The typed results (store/results.py): results.json round trips, older files, answers
(store/answers.py), the student-copy rule, ``without`` and ``secrets`` (store/student.py)
and ``field_paths``."""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any

import numpy as np
import pytest
from results_fixture import LEARNING_RATE_RUNS, config_for, with_exercises

import reportgen
from reportgen.config import ConfigError
from reportgen.shipped import shipped_handouts
from reportgen.store.answers import answers
from reportgen.store.results import SCHEMA, Results, dumps, field_paths, is_student_copy, resolve
from reportgen.store.student import secrets, without

SMALL = {"device": "cpu", "surface.resolution": 12}


@functools.cache
def computed(name: str) -> Results:
    """A shipped handout's results at a small surface resolution, straight from compute."""
    return reportgen.compute(reportgen.load_config(name, overrides=SMALL)).value


def assert_same(a: Any, b: Any, where: str = "results") -> None:
    """Two results values hold the same fields, types and numbers (NaN equal to NaN)."""
    if dataclasses.is_dataclass(a):
        assert type(a) is type(b), where
        for field in dataclasses.fields(a):
            assert_same(getattr(a, field.name), getattr(b, field.name), f"{where}.{field.name}")
    elif isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b), where
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}.{index}")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), where
        assert a.dtype == b.dtype == np.float64 and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert type(a) is type(b) and a == b, where


# --- JSON round trip ----------------------------------------------------------------


@pytest.mark.parametrize("name", shipped_handouts())
def test_results_json_round_trips_for_every_shipped_handout(name: str) -> None:
    results = computed(name)
    text = dumps(results)
    back = Results.loads(text)
    assert dumps(back) == text  # byte for byte
    assert back.to_dict() == results.to_dict() == json.loads(text)
    assert_same(back, results)
    assert json.loads(text)["schema"] == SCHEMA


def test_a_run_that_overflowed_round_trips_with_nan_in_its_arrays() -> None:
    results = reportgen.compute(config_for(LEARNING_RATE_RUNS, sweep=True, resolution=12)).value
    far = results.runs[-1]
    assert far.diverged and far.final_theta is None and far.final_loss is None
    assert np.isnan(far.losses).any() and np.isnan(far.thetas).any()
    text = dumps(results)
    assert "NaN" not in text and "Infinity" not in text
    back = Results.loads(text)
    assert dumps(back) == text
    assert_same(back, results)
    assert back.runs[-1].thetas.shape == (far.steps + 1, 2)


def test_results_of_another_schema_are_refused() -> None:
    plain = computed("source-notebook").to_dict()
    plain["schema"] = "reportgen.results/0"
    with pytest.raises(ConfigError, match=r"results.json: expected schema 'reportgen.results/1'"):
        Results.from_dict(plain)
    del plain["schema"]
    plain["schema"], plain["runs"] = SCHEMA, [{"name": "x"}]
    with pytest.raises(ConfigError, match=r"results.json: not reportgen's results"):
        Results.from_dict(plain)


# --- a file written before a field was added ------------------------------------------


def test_results_written_before_later_fields_still_read() -> None:
    results = computed("source-notebook")
    assert results.runs[1].shuffles is not None and results.runs[1].full_batch_twin is not None
    plain = json.loads(dumps(results))
    for run in plain["runs"]:
        for key in ("steps_per_epoch", "shuffles", "full_batch_twin"):
            run.pop(key, None)
    del plain["ols"]["xtx"], plain["ols"]["xty"]
    old = Results.from_dict(plain)
    assert old.ols.xtx is None and old.ols.xty is None
    for run in old.runs:
        assert run.steps_per_epoch is None and run.shuffles is None
        assert run.full_batch_twin is None
    np.testing.assert_array_equal(old.ols.theta, results.ols.theta)
    for run, fresh in zip(old.runs, results.runs, strict=True):
        np.testing.assert_array_equal(run.thetas, fresh.thetas)
        np.testing.assert_array_equal(run.losses, fresh.losses)
        assert run.final_loss == fresh.final_loss and run.steps == fresh.steps
    assert_same(old.diagnostics, results.diagnostics)
    assert_same(old.surface, results.surface)


# --- answers, the student copy, secrets -----------------------------------------------


def with_answers(results: Results, *paths: str, audience: str = "student") -> Results:
    """The results relabelled for a config whose exercises ask for ``paths``."""
    exercises = [{"id": f"q{i}", "prompt": "?", "answer": path} for i, path in enumerate(paths)]
    return with_exercises(results, exercises, audience)


def test_answers_read_each_exercise_from_the_results() -> None:
    results = computed("lab-course")
    found = answers(results)
    assert [a.number for a in found] == [1, 2, 3, 4]
    assert [a.exercise.id for a in found] == ["stable-rate", "two-steps", "steps-to-1pct",
                                              "which-diverges"]
    assert results.diagnostics.max_stable_lr is not None
    assert found[0].value == results.diagnostics.max_stable_lr
    assert [a.numeric for a in found] == [True, True, False, False]
    assert found[2].text == str(int(found[2].value)) and found[3].text in "ABCD"
    runs = answers(with_answers(results, "runs.0.final_loss", "data.summary.x_mean"))
    assert [a.value for a in runs] == [results.runs[0].final_loss, results.data.summary.x_mean]


@pytest.mark.parametrize(("path", "message"), [
    ("diagnostics.nope", r"exercises\[1\]\.answer: results.json has no 'diagnostics.nope' "
                         r"\(no 'nope' there\)"),
    ("ols.theta.2", r"exercises\[1\]\.answer: results.json has no 'ols.theta.2' \(no '2' there\)"),
    ("runs.5.final_loss", r"exercises\[1\]\.answer: results.json has no 'runs.5.final_loss'"),
    ("ols.theta", r"exercises\[1\]\.answer: expected 'ols.theta' to be a finite number in "
                  r"results.json, got \["),
    ("runs.0.diverged", r"exercises\[1\]\.answer: expected 'runs.0.diverged' to be a finite "
                        r"number in results.json, got False"),
    ("runs.0.name", r"exercises\[1\]\.answer: expected 'runs.0.name' to be a finite number"),
])
def test_answers_name_the_exercise_whose_path_is_bad(path: str, message: str) -> None:
    results = with_answers(computed("source-notebook"), "ols.loss", path)
    with pytest.raises(ConfigError, match=message):
        answers(results)


def test_an_answer_that_overflowed_is_refused() -> None:
    results = reportgen.compute(config_for(LEARNING_RATE_RUNS, sweep=True, resolution=12)).value
    with pytest.raises(ConfigError, match=r"exercises\[0\]\.answer: expected "
                       r"'runs.4.final_loss' to be a finite number in results.json, got None"):
        answers(with_answers(results, "runs.4.final_loss"))
    far = results.runs[4].losses
    last = len(far) - 1
    assert np.isnan(far[last])  # NaN in the array: it overflowed
    with pytest.raises(ConfigError, match=rf"exercises\[0\]\.answer: expected "
                       rf"'runs.4.losses.{last}' to be a finite number in results.json, got None"):
        answers(with_answers(results, f"runs.4.losses.{last}"))


@pytest.mark.filterwarnings("error")  # pydantic deprecates reading model_fields off an instance
def test_resolve_reads_records_arrays_and_config() -> None:
    results = computed("source-notebook")
    assert resolve(results, "runs.1.batch_size") == 20
    assert resolve(results, "config.data.n") == 100
    assert results.ols.theta is not None
    assert resolve(results, "ols.theta.0") == float(results.ols.theta[0])
    assert type(resolve(results, "ols.theta.0")) is float
    with pytest.raises(KeyError, match="xyz"):
        resolve(results, "surface.xyz")


def test_a_student_copy_is_exercises_for_the_student_audience() -> None:
    lab = computed("lab-course")
    assert is_student_copy(lab.config) and lab.is_student_copy
    instructor = with_answers(lab, "ols.loss", audience="instructor")
    assert not is_student_copy(instructor.config) and not instructor.is_student_copy
    plain = computed("source-notebook")
    assert plain.config.audience == "student" and not plain.config.exercises
    assert not is_student_copy(plain.config)


def test_secrets_are_a_student_copys_answers_only() -> None:
    lab = computed("lab-course")
    found = answers(lab)
    assert secrets(lab) == ((lab.diagnostics.max_stable_lr, 0.001), (found[1].value, 0.001))
    assert secrets(with_answers(lab, "ols.loss", audience="instructor")) == ()
    assert secrets(computed("source-notebook")) == ()


# --- without and field_paths ------------------------------------------------------------


def test_without_makes_a_field_absent() -> None:
    results = computed("source-notebook")
    copy = without(results, ["diagnostics.max_stable_lr", "ols.theta"])
    assert copy.diagnostics.max_stable_lr is None and copy.ols.theta is None
    assert results.diagnostics.max_stable_lr is not None and results.ols.theta is not None
    assert copy.diagnostics.optimal_lr == results.diagnostics.optimal_lr
    plain = json.loads(dumps(copy))
    assert plain["diagnostics"]["max_stable_lr"] is None and plain["ols"]["theta"] is None
    assert repr(results.diagnostics.max_stable_lr) not in dumps(copy)


@pytest.mark.parametrize("path", ["diagnostics.hessian", "ols.loss", "runs", "config",
                                  "diagnostics.nope", "nope", "config.seed"])
def test_without_refuses_a_field_that_cannot_be_absent(path: str) -> None:
    with pytest.raises(KeyError):
        without(computed("source-notebook"), [path])


def test_field_paths_list_every_answer_path() -> None:
    paths = field_paths()
    assert len(paths) == len(set(paths))
    for path in ("diagnostics.max_stable_lr", "runs.0.final_theta", "ols.theta",
                 "data.summary.x_mean", "runs.0.full_batch_twin.final_loss",
                 "sweep.final_losses", "surface.min_loss"):
        assert path in paths
    assert paths.index("ols") < paths.index("ols.theta")
    notebook, rates = computed("source-notebook"), computed("learning-rates")
    compared = computed("optimizers")  # the one shipped handout that tunes its methods
    for path in paths:  # every path names something in results that have it (None or not)
        if path.startswith("sweep"):
            resolve(rates, path)
        elif path.startswith("tuning"):
            resolve(compared, path)
        else:  # the notebook's second run is mini-batch: it has shuffles and a twin
            resolve(notebook, path.replace("runs.0.", "runs.1."))
