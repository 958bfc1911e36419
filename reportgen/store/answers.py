"""The exercises' answers: what each is, how it is read or computed, what it follows from.

An answer of kind "value" is read from the results at its dotted path; the other kinds
are computed in numpy (``store.kinds``) from the inputs the exercise prints
(:func:`exercise_inputs`), so the key and a student working from the printed numbers run
the same arithmetic. ``DEPENDENCIES`` maps each answer to what it follows from in one
step: the fields a student copy withholds (``store.student``) and the inputs it prints.

No JAX here: the renderers read this module. It imports only numpy, the config and the
results' definition.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from reportgen.config.course_mode import ExerciseConfig, option_letter
from reportgen.config.errors import ConfigError
from reportgen.store import kinds
from reportgen.store.results import Results, resolve, to_plain


@dataclass(frozen=True)
class Answer:
    """An exercise's expected answer for one handout."""

    number: int  # 1-based, as the handout numbers its exercises
    exercise: ExerciseConfig
    value: float  # the number; for a choice, the index of the right option

    @property
    def numeric(self) -> bool:
        """Whether the answer is a measured number (marked within a relative tolerance),
        not a count of steps or a letter."""
        return self.exercise.kind in ("value", "gd-steps")

    @property
    def text(self) -> str:
        """The answer as the key writes it and a student types it: the number in full, the
        count of steps, or the option's letter."""
        if self.exercise.kind == "choice":
            return option_letter(int(self.value))
        if self.exercise.kind == "steps-to":
            return str(int(self.value))
        return repr(self.value)

    @property
    def label(self) -> str:
        """How the handout names the exercise: ``Exercise 2``."""
        return f"Exercise {self.number}"


#: Where each input an exercise prints lives in the results.
INPUT_PATHS = {"hessian": "diagnostics.hessian", "n": "data.n", "xtx": "ols.xtx",
               "xty": "ols.xty", "theta_star": "ols.theta", "loss_star": "ols.loss"}


def exercise_inputs(results: Results, exercise: ExerciseConfig) -> dict[str, Any]:
    """The numbers an exercise prints for the student to work from, by name
    (``INPUT_PATHS``), as the results hold them.

    Raises:
      ConfigError: an input these results do not hold.
    """
    found: dict[str, Any] = {}
    for name in withholding_of(exercise).given:
        value = resolve(results, INPUT_PATHS[name])
        if value is None:
            raise ConfigError(f"exercise {exercise.id!r}: these results do not hold "
                              f"{INPUT_PATHS[name]}, which the exercise prints")
        found[name] = value
    return found


def answer_from(inputs: Mapping[str, Any], exercise: ExerciseConfig) -> float | None:
    """An exercise's answer computed from the numbers it prints (``exercise_inputs``, exact
    or as printed); None where the question has no fair answer for them. For a value
    answer that a student does not compute from printed inputs (theta*), None."""
    if exercise.kind == "gd-steps":
        assert exercise.start is not None and exercise.learning_rate is not None
        assert exercise.steps is not None
        path = kinds.gd_path(inputs["xtx"], inputs["xty"], int(inputs["n"]), exercise.start,
                             exercise.learning_rate, exercise.steps)
        value = float(path[-1][exercise.component])
        return value if math.isfinite(value) else None
    if exercise.kind == "steps-to":
        assert exercise.start is not None and exercise.learning_rate is not None
        assert exercise.fraction is not None
        count = kinds.steps_to(inputs["xtx"], inputs["xty"], int(inputs["n"]),
                               inputs["theta_star"], float(inputs["loss_star"]),
                               exercise.start, exercise.learning_rate, exercise.fraction)
        return None if count is None or count < 1 else float(count)
    if exercise.kind == "choice":
        assert exercise.options is not None and exercise.question is not None
        index = kinds.choice(inputs["hessian"], exercise.options, exercise.question)
        return None if index is None else float(index)
    compute = withholding_of(exercise).compute
    return None if compute is None else compute(inputs, exercise)


def _unfair(exercise: ExerciseConfig) -> str:
    """Why a kind's question has no fair answer for these numbers."""
    if exercise.kind == "steps-to":
        return (f"gradient descent at learning_rate {exercise.learning_rate:g} from "
                f"{list(exercise.start or ())} does not come within {exercise.fraction:g} of "
                f"J* in 1..{kinds.MAX_COUNTED_STEPS} steps")
    if exercise.kind == "choice":
        return (f"not exactly one of the rates {exercise.options} clearly "
                f"{'diverges' if exercise.question == 'diverges' else 'converges fastest'} "
                f"(each must be {kinds.CHOICE_MARGIN:.0%} clear of the answer changing)")
    return "its steps overflowed"


def answers(results: Results) -> list[Answer]:
    """Every exercise's answer: read from the results at its ``answer`` path (kind
    "value"), else computed in numpy from the inputs the exercise prints.

    Raises:
      ConfigError: an answer path that names no finite number in the results, or a
        question with no fair answer for these numbers (naming the exercise).
    """
    found = []
    for index, exercise in enumerate(results.config.exercises):
        field = f"exercises[{index}]"
        if exercise.kind == "value":
            value = _value_answer(results, exercise, f"{field}.answer")
        else:
            computed = answer_from(exercise_inputs(results, exercise), exercise)
            if computed is None:
                raise ConfigError(f"{field} ({exercise.id}): {_unfair(exercise)}; change its "
                                  f"parameters (in a batch, students are redrawn until it "
                                  f"holds)")
            value = computed
        found.append(Answer(index + 1, exercise, value))
    return found


def unfair_exercises(results: Results) -> list[str]:
    """Why these numbers make no fair question of an exercise (a steps-to that never
    arrives, a choice without one clear answer): one phrase each; empty when all are
    fair (a batch redraws a student until it is)."""
    return [f"exercise {exercise.id}: {_unfair(exercise)}"
            for exercise in results.config.exercises if exercise.kind != "value"
            and answer_from(exercise_inputs(results, exercise), exercise) is None]


def _value_answer(results: Results, exercise: ExerciseConfig, field: str) -> float:
    assert exercise.answer is not None
    try:
        value = resolve(results, exercise.answer)
    except KeyError as missing:
        raise ConfigError(f"{field}: results.json has no {exercise.answer!r} "
                          f"(no {missing.args[0]!r} there)") from None
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value):
        raise ConfigError(f"{field}: expected {exercise.answer!r} to be a finite number in "
                          f"results.json, got {_short(value)}")
    return float(value)


def _short(value: Any) -> str:
    text = repr(to_plain(value))
    return text if len(text) <= 60 else text[:57] + "..."


#: The fewest and most significant digits an exercise prints its inputs with.
MIN_DIGITS, MAX_DIGITS = 4, 15


def printed_digits(inputs: Mapping[str, Any], exercise: ExerciseConfig) -> int:
    """How many significant digits an exercise prints its inputs (``exercise_inputs``)
    with: the fewest (from ``MIN_DIGITS``) at which the answer computed from the inputs as
    printed is the key's count or letter, or within a tenth of the tolerance of the key's
    number, so that working from the printed numbers always earns the marks. The count
    ``n`` is printed exactly. Only the number of digits leaves this function."""
    exact = answer_from(inputs, exercise)
    if exact is None:
        return MIN_DIGITS
    numeric = exercise.kind in ("value", "gd-steps")
    for digits in range(MIN_DIGITS, MAX_DIGITS + 1):
        printed = {name: value if name == "n" else kinds.round_significant(value, digits)
                   for name, value in inputs.items()}
        worked = answer_from(printed, exercise)
        if worked is None:
            continue
        if worked == exact or (numeric and abs(worked - exact)
                               <= 0.1 * exercise.tolerance * abs(exact)):
            return digits
    return MAX_DIGITS


def worked(results: Results, exercise: ExerciseConfig) -> dict[str, Any]:
    """An exercise worked out step by step (for the instructor copy's solution): plain
    numbers the template shows as a table.

    gd-steps: every step's theta and gradient; steps-to: each step's theta and relative
    gap J/J* - 1 (the first and last few, and the crossing); choice: each rate's factors
    |1 - eta lambda_min|, |1 - eta lambda_max| and verdict; a curvature value: tr H, det H,
    the eigenvalues and the rates.
    """
    inputs = exercise_inputs(results, exercise)
    if exercise.kind in ("gd-steps", "steps-to"):
        assert exercise.start is not None and exercise.learning_rate is not None
        n = int(inputs["n"])
        a, b = np.asarray(inputs["xtx"], dtype=np.float64), np.asarray(inputs["xty"],
                                                                        dtype=np.float64)
        count = exercise.steps
        if exercise.kind == "steps-to":
            count = int(answer_from(inputs, exercise) or 0)
        path = kinds.gd_path(a, b, n, exercise.start, exercise.learning_rate, count or 0)
        rows = []
        for k, theta in enumerate(path):
            row = {"k": k, "theta": theta.tolist(),
                   "gradient": (2.0 / n * (a @ theta - b)).tolist()}
            if exercise.kind == "steps-to":
                row["gap"] = kinds.excess_loss(theta, a, n, inputs["theta_star"]) / float(
                    inputs["loss_star"])
            rows.append(row)
        if exercise.kind == "steps-to" and len(rows) > 8:
            rows = [*rows[:3], {"k": None}, *rows[-3:]]
        return {"rows": rows}
    hessian = np.asarray(results.diagnostics.hessian, dtype=np.float64)
    low, high = kinds.eigenvalues(hessian)
    found: dict[str, Any] = {"trace": float(np.trace(hessian)),
                             "det": float(np.linalg.det(hessian)), "lmin": low, "lmax": high,
                             "bound": 2.0 / high, "optimal": 2.0 / (low + high)}
    if exercise.kind == "choice":
        rows = []
        for index, rate in enumerate(exercise.options or ()):
            slow, fast = abs(1.0 - rate * low), abs(1.0 - rate * high)
            rows.append({"letter": option_letter(index), "rate": rate, "slow": slow,
                         "fast": fast, "factor": max(slow, fast),
                         "verdict": "diverges" if max(slow, fast) > 1 else "converges"})
        found["rows"] = rows
    return found


# ------------------------------------------------------------------ what each answer follows from


@dataclass(frozen=True)
class Step:
    """A result field from which an answer follows in one arithmetic step (so a student
    copy that asks for the answer withholds it).

    ``field`` is a dotted path, ``*`` standing for every list item (every run); ``how``
    says the step. With ``near``, the field is withheld only where its value is within the
    exercise's tolerance of the answer (a run that converged to theta*), rows of a path set
    to NaN.
    """

    field: str
    how: str
    near: bool = False


@dataclass(frozen=True)
class Withholding:
    """What one answer follows from, and what a student computes it from.

    ``given``: the inputs the exercise prints (``INPUT_PATHS``), so a student works from
    numbers precise enough for the tolerance; ``steps``: the fields withheld;
    ``compute``: a value answer computed from the given inputs (None: the student
    computes it from their data).
    """

    given: tuple[str, ...]
    steps: tuple[Step, ...]
    compute: Callable[[Mapping[str, Any], ExerciseConfig], float] | None = None


def _eigen_answer(inputs: Mapping[str, Any], exercise: ExerciseConfig) -> float:
    """A curvature answer from the Hessian: its eigenvalues and the rates they give."""
    low, high = kinds.eigenvalues(inputs["hessian"])
    path = exercise.answer or ""
    return {"diagnostics.max_stable_lr": 2.0 / high,
            "diagnostics.optimal_lr": 2.0 / (low + high),
            "diagnostics.condition_number": high / low,
            "diagnostics.hessian_eigenvalues.0": low,
            "diagnostics.hessian_eigenvalues.1": high}[path]


#: The curvature: lambda_min, lambda_max and what follows from them. With H printed
#: (tr H = lambda_min + lambda_max, det H = lambda_min lambda_max), each gives the others.
CURVATURE = (
    Step("diagnostics.hessian_eigenvalues", "lambda_min, lambda_max themselves; 2/lambda_max"),
    Step("diagnostics.max_stable_lr", "2/lambda_max; lambda_max = 2/(2/lambda_max)"),
    Step("diagnostics.optimal_lr", "2/(lambda_min + lambda_max): with lambda_min, "
                                   "lambda_max = 2/eta_opt - lambda_min"),
    Step("diagnostics.condition_number", "kappa = lambda_max/lambda_min: with tr H, "
                                         "lambda_max = kappa tr H/(1 + kappa)"),
    Step("runs.*.predicted_rate", "a full-batch run's max |1 - eta lambda_i|: "
                                  "lambda = (1 -+ factor)/eta"),
    Step("sweep", "the first rate the sweep marks diverged brackets 2/lambda_max; its "
                  "lowest final loss marks the fastest rate"),
)

#: Every answer a student copy can withhold, by answer path (``*``: any index) or, for the
#: kinds that compute their answer, by kind. An answer path not here is refused in a
#: student copy: reportgen would not know what gives it away.
DEPENDENCIES: dict[str, Withholding] = {
    **{path: Withholding(("hessian",), CURVATURE, _eigen_answer) for path in (
        "diagnostics.max_stable_lr", "diagnostics.optimal_lr", "diagnostics.condition_number",
        "diagnostics.hessian_eigenvalues.*")},
    "ols.theta.*": Withholding((), (
        Step("ols.theta", "theta* itself"),
        Step("ols.xtx", "theta* = (X^T X)^-1 X^T y: one 2 x 2 solve"),
        Step("ols.xty", "theta* = (X^T X)^-1 X^T y: one 2 x 2 solve"),
        # Not the means: y_mean = theta0* + theta1* x_mean gives one coefficient only from
        # the other, and both are withheld together.
        Step("surface.argmin", "the grid point nearest theta*, on a fine grid", near=True),
        Step("runs.*.final_theta", "a run that converged ends at theta*", near=True),
        Step("runs.*.thetas", "a converged run's last steps sit at theta*", near=True),
        Step("runs.*.full_batch_twin.final_theta", "a converged twin ends at theta*",
             near=True),
        Step("runs.*.shuffles", "converged reshuffled runs end at theta*", near=True),
    )),
    "gd-steps": Withholding(("n", "xtx", "xty"), ()),
    "steps-to": Withholding(("n", "xtx", "xty", "theta_star", "loss_star"), ()),
    "choice": Withholding(("hessian",), CURVATURE),
}


def _pattern(path: str) -> str:
    """An answer path as the map keys it: list indices as ``*``."""
    return ".".join("*" if part.isdigit() else part for part in path.split("."))


def withholding_of(exercise: ExerciseConfig) -> Withholding:
    """The map's entry for an exercise (by answer path, or by kind).

    Raises:
      ConfigError: an answer path the map does not know.
    """
    key = _pattern(exercise.answer or "") if exercise.kind == "value" else exercise.kind
    entry = DEPENDENCIES.get(key)
    if entry is None:
        known = ", ".join(path for path in DEPENDENCIES if "." in path)
        raise ConfigError(f"exercise {exercise.id!r}: a student copy cannot withhold what "
                          f"{exercise.answer!r} follows from (reportgen knows the answers "
                          f"{known}; or use kind = \"gd-steps\", \"steps-to\" or \"choice\")")
    return entry

