"""The results: one typed value, produced by numerics and read by everything else.

``Results`` is what a handout's numbers are. ``results.json`` is its serialisation (the
public contract, schema ``reportgen.results/1``): written from this definition by
:func:`dumps` and read back by :meth:`Results.from_dict`, which also reads a file written
before a field was added (the field is then None), as ``reportgen verify`` needs for older
reports. Numbers are written at full precision (``repr`` round-trips every float64); keys
are sorted; a non-finite number is written as ``null``, never as NaN or Infinity, and is
read back as NaN inside an array, None as a scalar.

Exercise answers are read here (:func:`answers`), and the rule for a student copy lives
here (:func:`is_student_copy`, :func:`student_view`): a student copy is rendered from a
different value, one without the withheld fields, so no renderer can print them.

No JAX here: the renderers read this module. It imports only numpy and the config.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from reportgen.config.course_mode import ExerciseConfig, option_letter
from reportgen.config.errors import ConfigError
from reportgen.config.schema import Config
from reportgen.layout import RESULTS_FILE as RESULTS_FILE
from reportgen.store import kinds

SCHEMA = "reportgen.results/1"

#: A float64 array; NaN where results.json has null (a value that overflowed).
Array = NDArray[np.float64]
T = TypeVar("T")


# ------------------------------------------------------------------ plain values


def finite_or_none(value: Any) -> float | None:
    """A float, or None where it is NaN or infinite."""
    number = float(value)
    return number if math.isfinite(number) else None


def _array_to_plain(array: np.ndarray) -> Any:
    """A numeric array as nested lists, non-finite entries as None, in one vectorised pass."""
    if array.dtype.kind == "f":
        values = array.astype(np.float64).astype(object)
        values[~np.isfinite(array)] = None
        return values.tolist()
    if array.dtype.kind in "iub":
        return array.tolist()
    return [to_plain(v) for v in array.tolist()]


def to_plain(value: Any) -> Any:
    """Numpy arrays and scalars to lists and Python numbers; non-finite floats to None;
    a results dataclass to its results.json form."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _record_to_plain(value)
    if isinstance(value, Config):
        return value.normalised()
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _array_to_plain(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return finite_or_none(value)
    return value


#: A field written only when it has a value (results.json has no key for it otherwise).
OMIT_WHEN_NONE = {"omit_when_none": True}


def _record_to_plain(record: Any) -> dict[str, Any]:
    plain = {}
    for field in dataclasses.fields(record):
        value = getattr(record, field.name)
        if value is None and field.metadata.get("omit_when_none"):
            continue
        plain[field.name] = to_plain(value)
    return plain


def array(value: Any) -> Array:
    """A float64 array of results.json values (null as NaN)."""
    return np.array(value, dtype=np.float64)  # numpy reads None as NaN for a float dtype


def optional_array(value: Any) -> Array | None:
    """:func:`array`, or None where results.json has null (or nothing)."""
    return None if value is None else array(value)


def optional_float(value: Any) -> float | None:
    """A number of results.json as a float, or None."""
    return None if value is None else float(value)


def _optional(value: Any, read: Callable[[Any], T]) -> T | None:
    return None if value is None else read(value)


# ------------------------------------------------------------------ the records


@dataclass(frozen=True, eq=False)
class DataSummary:
    """Summary statistics of the samples (always written, whatever n is)."""

    x_mean: float
    x_std: float
    x_min: float
    x_max: float
    y_mean: float
    y_std: float

    @classmethod
    def from_dict(cls, plain: Mapping[str, Any]) -> DataSummary:
        return cls(**{f.name: float(plain[f.name]) for f in dataclasses.fields(cls)})


@dataclass(frozen=True, eq=False)
class Data:
    """The samples: x and y while n is small enough to write them, the summary always."""

    n: int
    x: Array | None
    y: Array | None
    summary: DataSummary

    @classmethod
    def from_dict(cls, plain: Mapping[str, Any]) -> Data:
        return cls(int(plain["n"]), optional_array(plain.get("x")),
                   optional_array(plain.get("y")), DataSummary.from_dict(plain["summary"]))


@dataclass(frozen=True, eq=False)
class OLS:
    """The closed-form least-squares solution, and the normal equations' inputs.

    ``theta`` and the inputs are None in a student copy whose exercise asks for them.
    """

    theta: Array | None
    loss: float
    xtx: Array | None  # X^T X, 2 x 2 (None in results written before it was added)
    xty: Array | None  # X^T y

    @classmethod
    def from_dict(cls, plain: Mapping[str, Any]) -> OLS:
        return cls(optional_array(plain.get("theta")), float(plain["loss"]),
                   optional_array(plain.get("xtx")), optional_array(plain.get("xty")))


@dataclass(frozen=True, eq=False)
class Diagnostics:
    """The Hessian and what its eigenvalues say about step sizes.

    All but the Hessian may be None: the condition number when the smallest eigenvalue
    is zero, the rest in a student copy whose exercise asks for one of them.
    """

    hessian: Array
    hessian_eigenvalues: Array | None  # ascending: lambda_min, lambda_max
    condition_number: float | None
    max_stable_lr: float | None  # 2 / lambda_max
    optimal_lr: float | None  # 2 / (lambda_min + lambda_max)

    @classmethod
    def from_dict(cls, plain: Mapping[str, Any]) -> Diagnostics:
        return cls(array(plain["hessian"]), optional_array(plain.get("hessian_eigenvalues")),
                   optional_float(plain.get("condition_number")),
                   optional_float(plain.get("max_stable_lr")),
                   optional_float(plain.get("optimal_lr")))

    @property
    def eigenvalues(self) -> tuple[float, float] | None:
        """(lambda_min, lambda_max), or None where withheld."""
        if self.hessian_eigenvalues is None:
            return None
        low, high = (float(v) for v in self.hessian_eigenvalues)
        return low, high


@dataclass(frozen=True, eq=False)
class Shuffles:
    """A mini-batch run repeated with other shufflings of its batches (same start, rate)."""

    repeats: int
    generator: str
    final_thetas: Array
    final_losses: Array
    final_distances: Array

    @classmethod
    def from_dict(cls, plain: Mapping[str, Any]) -> Shuffles:
        return cls(int(plain["repeats"]), str(plain["generator"]), array(plain["final_thetas"]),
                   array(plain["final_losses"]), array(plain["final_distances"]))


@dataclass(frozen=True, eq=False)
class Twin:
    """A mini-batch run's full-batch twin: the same rule, rate and start, as many updates."""

    steps: int
    thetas: Array | None  # kept up to a path limit
    losses: Array | None
    final_theta: Array | None
    final_loss: float | None
    loss_after_epochs: float | None

    @classmethod
    def from_dict(cls, plain: Mapping[str, Any]) -> Twin:
        return cls(int(plain["steps"]), optional_array(plain.get("thetas")),
                   optional_array(plain.get("losses")), optional_array(plain.get("final_theta")),
                   optional_float(plain.get("final_loss")),
                   optional_float(plain.get("loss_after_epochs")))


@dataclass(frozen=True, eq=False)
class Run:
    """One optimizer run: its settings, full trajectory and what became of it."""

    name: str
    optimizer: str
    learning_rate: float
    batch_size: int
    epochs: int
    steps: int
    steps_per_epoch: int | None
    full_batch: bool
    theta_init: Array
    thetas: Array  # (steps + 1, 2), the initial theta first; NaN where it overflowed
    losses: Array  # (steps + 1,), the full-data MSE
    final_theta: Array | None  # None when it overflowed
    final_loss: float | None
    gap_to_ols: float | None  # final / OLS - 1
    diverged: bool
    diverged_step: int | None
    predicted_rate: float | None
    observed_rate: float | None
    stable: bool | None
    shuffles: Shuffles | None
    full_batch_twin: Twin | None

    @classmethod
    def from_dict(cls, plain: Mapping[str, Any]) -> Run:
        thetas = array(plain["thetas"])
        return cls(
            name=str(plain["name"]), optimizer=str(plain["optimizer"]),
            learning_rate=float(plain["learning_rate"]), batch_size=int(plain["batch_size"]),
            epochs=int(plain["epochs"]), steps=int(plain["steps"]),
            steps_per_epoch=_optional(plain.get("steps_per_epoch"), int),
            full_batch=bool(plain.get("full_batch", True)),
            theta_init=array(plain["theta_init"]),
            thetas=thetas.reshape(-1, 2) if thetas.size else np.zeros((0, 2)),
            losses=array(plain["losses"]),
            final_theta=optional_array(plain.get("final_theta")),
            final_loss=optional_float(plain.get("final_loss")),
            gap_to_ols=optional_float(plain.get("gap_to_ols")),
            diverged=bool(plain["diverged"]),
            diverged_step=_optional(plain.get("diverged_step"), int),
            predicted_rate=optional_float(plain.get("predicted_rate")),
            observed_rate=optional_float(plain.get("observed_rate")),
            stable=_optional(plain.get("stable"), bool),
            shuffles=_optional(plain.get("shuffles"), Shuffles.from_dict),
            full_batch_twin=_optional(plain.get("full_batch_twin"), Twin.from_dict),
        )


@dataclass(frozen=True, eq=False)
class Surface:
    """The loss over a (theta0, theta1) grid: ``loss[i, j] = L(theta0[j], theta1[i])``."""

    method: str
    resolution: int
    theta0: Array
    theta1: Array
    loss: Array | None  # None when the grid lives in ``loss_file`` (above 256^2)
    min_loss: float | None
    argmin: Array | None
    loss_file: str | None = dataclasses.field(default=None, metadata=OMIT_WHEN_NONE)

    @classmethod
    def from_dict(cls, plain: Mapping[str, Any]) -> Surface:
        return cls(str(plain["method"]), int(plain["resolution"]), array(plain["theta0"]),
                   array(plain["theta1"]), optional_array(plain.get("loss")),
                   optional_float(plain.get("min_loss")), optional_array(plain.get("argmin")),
                   _optional(plain.get("loss_file"), str))


@dataclass(frozen=True, eq=False)
class Sweep:
    """Full-batch GD at many learning rates from one start: the final loss of each."""

    learning_rates: Array
    final_losses: Array  # NaN where a run overflowed
    diverged: tuple[bool, ...]
    diverged_step: tuple[int | None, ...]
    epochs: int
    init: Array

    @classmethod
    def from_dict(cls, plain: Mapping[str, Any]) -> Sweep:
        return cls(array(plain["learning_rates"]), array(plain["final_losses"]),
                   tuple(bool(v) for v in plain["diverged"]),
                   tuple(_optional(v, int) for v in plain["diverged_step"]),
                   int(plain["epochs"]), array(plain["init"]))


@dataclass(frozen=True, eq=False)
class Tuned:
    """One update rule tuned by the declared grid (``numerics.tuning``): every setting's
    final loss, and the best setting (None when every setting diverged)."""

    optimizer: str
    learning_rates: Array  # the rate grid
    momenta: Array | None  # the beta grid (momentum and Nesterov only)
    final_losses: Array  # (betas or 1, rates); NaN where a setting diverged
    learning_rate: float | None  # the best setting
    momentum: float | None
    final_loss: float | None
    final_theta: Array | None
    ties: int  # settings whose final loss ties with the best (within theory.TIE x J*)

    @classmethod
    def from_dict(cls, plain: Mapping[str, Any]) -> Tuned:
        rates = array(plain["learning_rates"])
        losses = array(plain["final_losses"]).reshape(-1, len(rates))
        return cls(str(plain["optimizer"]), rates, optional_array(plain.get("momenta")),
                   losses, optional_float(plain.get("learning_rate")),
                   optional_float(plain.get("momentum")), optional_float(plain.get("final_loss")),
                   optional_array(plain.get("final_theta")), int(plain["ties"]))


@dataclass(frozen=True, eq=False)
class Tuning:
    """The compared rules, each at its own best fixed setting from the same start for the
    same number of full-batch steps (present only when a config compares rules)."""

    steps: int
    init: Array
    methods: tuple[Tuned, ...]

    @classmethod
    def from_dict(cls, plain: Mapping[str, Any]) -> Tuning:
        return cls(int(plain["steps"]), array(plain["init"]),
                   tuple(Tuned.from_dict(method) for method in plain["methods"]))

    def method(self, optimizer: str) -> Tuned | None:
        """The tuned record of ``optimizer``, or None when it was not compared."""
        return next((m for m in self.methods if m.optimizer == optimizer), None)


@dataclass(frozen=True, eq=False)
class Results:
    """Everything a handout shows: the data, the closed form, the curvature, every run,
    the loss surface, the learning-rate sweep and (for a comparison of update rules) their
    tuning, with the config that made them."""

    config: Config
    data: Data
    ols: OLS
    diagnostics: Diagnostics
    runs: tuple[Run, ...]
    surface: Surface
    sweep: Sweep | None
    schema: str = SCHEMA
    #: written only for a comparison, so results without one keep their bytes
    tuning: Tuning | None = dataclasses.field(default=None, metadata=OMIT_WHEN_NONE)
    #: In a student copy: each withheld field (dotted path) and the exercise that asks for
    #: what it gives away ("Exercise 1"), so the copy can say where the reader computes it.
    withheld: dict[str, str] | None = dataclasses.field(default=None, metadata=OMIT_WHEN_NONE)

    @classmethod
    def from_dict(cls, plain: Mapping[str, Any], config: Config | None = None) -> Results:
        """Read a parsed results.json (this schema; fields added later may be absent).

        ``config``, when given, is taken as the results' config instead of validating the
        one recorded (the caller knows it is the same).

        Raises:
          ConfigError: the file is not reportgen's results, or its config is not valid.
        """
        if plain.get("schema") != SCHEMA:
            raise ConfigError(f"results.json: expected schema {SCHEMA!r}, "
                              f"got {str(plain.get('schema'))[:60]!r}")
        try:
            return cls(
                config=config or Config.model_validate(plain["config"]),
                data=Data.from_dict(plain["data"]), ols=OLS.from_dict(plain["ols"]),
                diagnostics=Diagnostics.from_dict(plain["diagnostics"]),
                runs=tuple(Run.from_dict(run) for run in plain["runs"]),
                surface=Surface.from_dict(plain["surface"]),
                sweep=_optional(plain.get("sweep"), Sweep.from_dict),
                tuning=_optional(plain.get("tuning"), Tuning.from_dict),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, ConfigError):
                raise
            detail = " ".join(str(exc).split())[:80]
            raise ConfigError(f"results.json: not reportgen's results ({type(exc).__name__}: "
                              f"{detail})") from None

    @classmethod
    def loads(cls, text: str) -> Results:
        """:meth:`from_dict` of results.json's text."""
        return cls.from_dict(json.loads(text))

    def to_dict(self) -> dict[str, Any]:
        """Exactly what results.json holds, as plain data."""
        plain: dict[str, Any] = to_plain(self)
        return plain

    def restamped(self, config: Config) -> Results:
        """These numbers relabelled for another config with the same numbers (a cache
        entry serves every config whose numbers match): that config recorded, and its run
        names (what the handout says comes from the config at hand)."""
        runs = tuple(dataclasses.replace(run, name=spec.name)
                     for run, spec in zip(self.runs, config.runs, strict=True))
        return dataclasses.replace(self, config=config, runs=runs)

    @property
    def is_student_copy(self) -> bool:
        """Whether these results are for a student copy (see :func:`is_student_copy`)."""
        return is_student_copy(self.config)


def dumps(results: Results | Mapping[str, Any]) -> str:
    """Canonical results.json text: sorted keys, full-precision floats, no NaN or Infinity."""
    return json.dumps(to_plain(results), sort_keys=True, indent=1, allow_nan=False) + "\n"


# ------------------------------------------------------------------ answers and copies


def is_student_copy(config: Config) -> bool:
    """The one rule: a handout with exercises, for the student audience, is a student copy
    (no answer anywhere in it; the instructor copy adds answers and worked solutions)."""
    return bool(config.exercises) and config.audience == "student"


def student_config(config: Config) -> Config:
    """A student copy's config: the same handout without the exercises' solutions (the
    config a student receives holds what reproduces their data, and no solution text)."""
    if not is_student_copy(config):
        return config
    exercises = [exercise.model_copy(update={"solution": ""}) for exercise in config.exercises]
    return config.model_copy(update={"exercises": exercises})


def resolve(results: Results, path: str) -> Any:
    """The value at a dotted results.json path (``ols.theta.1``: list items by index).

    Raises:
      KeyError: naming the first part of ``path`` that is not there.
    """
    where: Any = results
    for part in path.split("."):
        if isinstance(where, np.ndarray | tuple | list) and part.isdigit() \
                and int(part) < len(where):
            where = where[int(part)]
        elif isinstance(where, Mapping) and part in where:
            where = where[part]
        elif _has_field(where, part):
            where = getattr(where, part)
        else:
            raise KeyError(part)
    return where.item() if isinstance(where, np.generic) else where


def _has_field(record: Any, name: str) -> bool:
    if dataclasses.is_dataclass(record):
        return name in {field.name for field in dataclasses.fields(record)}
    if isinstance(record, Config | ExerciseConfig) or hasattr(type(record), "model_fields"):
        return name in type(record).model_fields
    return False


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


def secrets(results: Results) -> tuple[tuple[float, float], ...]:
    """What a copy must not show, as ``(value, relative tolerance)``: every measured answer
    (``Answer.numeric``) in a student copy, nothing in any other."""
    if not results.is_student_copy:
        return ()
    return tuple((answer.value, answer.exercise.tolerance) for answer in answers(results)
                 if answer.numeric)


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


def field_paths(kind: type = Results, prefix: str = "") -> list[str]:
    """Every dotted results.json path of a record type's fields, in order (the reference
    of answer paths; list items are addressed by index: ``runs.0.final_loss``)."""
    hints = typing.get_type_hints(kind)
    found = []
    for field in dataclasses.fields(kind):
        path = f"{prefix}{field.name}"
        found.append(path)
        nested = _record_type(hints[field.name])
        if nested is not None:
            index = ".0" if _is_sequence(hints[field.name]) else ""
            found += field_paths(nested, f"{path}{index}.")
    return found


def _record_type(hint: Any) -> type | None:
    for arg in (hint, *typing.get_args(hint)):
        if isinstance(arg, type) and dataclasses.is_dataclass(arg):
            return arg
        inner = typing.get_args(arg)
        for item in inner:
            if isinstance(item, type) and dataclasses.is_dataclass(item):
                return item
    return None


def _is_sequence(hint: Any) -> bool:
    return any(typing.get_origin(arg) is tuple for arg in (hint, *typing.get_args(hint)))


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
    if not _has_field(record, head) or isinstance(record, Config | ExerciseConfig):
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


# ------------------------------------------------------------------ what a copy withholds


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


