"""The student copy: the value it is rendered from, and what is refused before compute.

A student copy is rendered from a different value (:func:`student_view`): the results
without every field from which an exercise's answer follows in one step (the map is
``store.answers.DEPENDENCIES``), so no renderer can print them. :func:`check_exercises`
refuses, before anything is computed, exercises a copy cannot keep secret. Whether a
copy is a student copy is the one rule ``store.results.is_student_copy``.

No JAX here: the renderers read this module. It imports only numpy, the config, the
results' definition and the answers.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable
from typing import Any

import numpy as np

from reportgen.config.course_mode import ExerciseConfig
from reportgen.config.errors import ConfigError
from reportgen.config.schema import Config
from reportgen.store.answers import INPUT_PATHS, Answer, answers, withholding_of
from reportgen.store.results import Results, has_field, is_student_copy, resolve


def student_config(config: Config) -> Config:
    """A student copy's config: the same handout without the exercises' solutions (the
    config a student receives holds what reproduces their data, and no solution text)."""
    if not is_student_copy(config):
        return config
    exercises = [exercise.model_copy(update={"solution": ""}) for exercise in config.exercises]
    return config.model_copy(update={"exercises": exercises})


def secrets(results: Results) -> tuple[tuple[float, float], ...]:
    """What a copy must not show, as ``(value, relative tolerance)``: every measured answer
    (``Answer.numeric``) in a student copy, nothing in any other."""
    if not results.is_student_copy:
        return ()
    return tuple((answer.value, answer.exercise.tolerance) for answer in answers(results)
                 if answer.numeric)


def without(results: Results, paths: Iterable[str]) -> Results:
    """The results with the fields at ``paths`` (dotted, of optional fields; list items by
    index, ``runs.0.final_theta``) absent: the value a copy is rendered from when it must
    not show them.

    Raises:
      KeyError: a path that names no field, or a field that cannot be absent.
    """
    out = results
    for path in paths:
        out = _replace_at(out, path.split("."))
    return out


def _replace_at(record: Any, parts: list[str]) -> Any:
    head, rest = parts[0], parts[1:]
    if isinstance(record, tuple):
        if not head.isdigit() or int(head) >= len(record) or not rest:
            raise KeyError(head)
        index = int(head)
        return (*record[:index], _replace_at(record[index], rest), *record[index + 1:])
    if not has_field(record, head) or isinstance(record, Config | ExerciseConfig):
        raise KeyError(head)
    if rest:
        inner = getattr(record, head)
        if inner is None:
            raise KeyError(f"{head} (absent)")
        return dataclasses.replace(record, **{head: _replace_at(inner, rest)})
    hints = typing.get_type_hints(type(record))
    if type(None) not in typing.get_args(hints[head]):
        raise KeyError(f"{head} (always present)")
    return dataclasses.replace(record, **{head: None})


def check_exercises(config: Config) -> None:
    """Refuse, before anything is computed, exercises a student copy cannot keep secret:
    an answer path the map does not know, an exercise that needs an input another
    exercise withholds, and a run that repeats an exercise (its path or outcome is the
    answer).

    Raises:
      ConfigError: naming the exercise.
    """
    entries = []
    for index, exercise in enumerate(config.exercises):
        try:
            entries.append(withholding_of(exercise))
        except ConfigError as exc:
            raise ConfigError(f"exercises[{index}].answer: {str(exc).split(': ', 1)[1]}") \
                from None
    withheld = {step.field: index for index, entry in enumerate(entries)
                for step in entry.steps if not step.near}
    for index, (exercise, entry) in enumerate(zip(config.exercises, entries, strict=True)):
        for name in entry.given:
            other = withheld.get(INPUT_PATHS[name])
            if other is not None:
                raise ConfigError(
                    f"exercises[{index}] ({exercise.id}): needs {INPUT_PATHS[name]}, which "
                    f"exercises[{other}] ({config.exercises[other].id}) withholds from "
                    f"student copies; set them in different handouts")
        _check_no_run_repeats(config, index, exercise)


def _check_no_run_repeats(config: Config, index: int, exercise: ExerciseConfig) -> None:
    """No full-batch gradient descent run does what the exercise asks the student to do."""
    for number, run in enumerate(config.runs):
        if run.optimizer != "gd" or config.batch_size(run) < config.data.n:
            continue
        start = None if run.init == "random" else tuple(float(v) for v in run.init)
        same_start = exercise.start is not None and start == tuple(exercise.start)
        if exercise.kind in ("gd-steps", "steps-to") and same_start \
                and run.learning_rate == exercise.learning_rate:
            raise ConfigError(f"runs[{number}]: repeats exercises[{index}] ({exercise.id}) "
                              f"(gradient descent from the same start at the same rate): its "
                              f"path gives the answer away; change the run or the exercise")
        if exercise.kind == "choice" and run.learning_rate in (exercise.options or ()):
            raise ConfigError(f"runs[{number}]: runs at a rate exercises[{index}] "
                              f"({exercise.id}) offers ({run.learning_rate:g}): its outcome "
                              f"gives the answer away; change the run or the options")


def _expand(results: Results, pattern: str) -> list[str]:
    """A field pattern's concrete paths in these results (``*``: every run)."""
    head, star, rest = pattern.partition(".*.")
    if not star:
        return [pattern]
    items = resolve(results, head)
    return [f"{head}.{i}.{rest}" for i in range(len(items))]


def student_view(results: Results) -> Results:
    """The value a student copy is rendered from: ``results`` without every field from
    which an exercise's answer follows in one step (``DEPENDENCIES``), and without the
    values within tolerance of an answer where the map says so (a converged run's end at
    theta*). ``withheld`` records each withheld field and the exercise that asks for it.
    Any other copy's results are returned as they are.

    Raises:
      ConfigError: an exercise the map cannot keep secret (``check_exercises``).
    """
    if not results.is_student_copy:
        return results
    check_exercises(results.config)
    found = answers(results)
    view = results
    withheld: dict[str, str] = {}
    for answer in found:
        for step in withholding_of(answer.exercise).steps:
            for path in _expand(view, step.field):
                if not _present(view, path):
                    continue
                if step.near:
                    view, hidden = _without_near(view, path, answer)
                    if not hidden:
                        continue
                else:
                    view = without(view, [path])
                withheld.setdefault(path, answer.label)
    return dataclasses.replace(view, withheld=withheld)


def _present(results: Results, path: str) -> bool:
    try:
        return resolve(results, path) is not None
    except KeyError:
        return False


def _without_near(results: Results, path: str, answer: Answer) -> tuple[Results, bool]:
    """``results`` without the value at ``path`` where it is within the answer's tolerance
    (a point, a path's rows or repeated runs' end points, compared at the answer's index)."""
    component = int((answer.exercise.answer or "0").rsplit(".", 1)[-1])
    value = np.asarray(resolve(results, path), dtype=np.float64) \
        if not dataclasses.is_dataclass(resolve(results, path)) else None
    if value is None:  # a record (shuffles): judged on its end points
        value = np.asarray(resolve(results, f"{path}.final_thetas"), dtype=np.float64)
    near = np.abs(value.reshape(-1, 2)[:, component] - answer.value) \
        <= answer.exercise.tolerance * abs(answer.value)
    if not near.any():
        return results, False
    if path.endswith(".thetas"):
        rows = value.reshape(-1, 2).copy()
        rows[near] = np.nan
        return _replace_value(results, path.split("."), rows), True
    return without(results, [path]), True


def _replace_value(record: Any, parts: list[str], value: Any) -> Any:
    """``record`` with the field at ``parts`` replaced by ``value``."""
    head, rest = parts[0], parts[1:]
    if isinstance(record, tuple):
        index = int(head)
        inner = value if not rest else _replace_value(record[index], rest, value)
        return (*record[:index], inner, *record[index + 1:])
    inner = value if not rest else _replace_value(getattr(record, head), rest, value)
    return dataclasses.replace(record, **{head: inner})

