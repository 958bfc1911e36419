"""The results: one typed value, produced by numerics and read by everything else.

``Results`` is what a handout's numbers are. ``results.json`` is its serialisation (the
public contract, schema ``reportgen.results/1``): written from this definition by
:func:`dumps` and read back by :meth:`Results.from_dict`, which also reads a file written
before a field was added (the field is then None), as ``reportgen verify`` needs for older
reports. Numbers are written at full precision (``repr`` round-trips every float64); keys
are sorted; a non-finite number is written as ``null``, never as NaN or Infinity, and is
read back as NaN inside an array, None as a scalar.

The rule for a student copy lives here (:func:`is_student_copy`); its value, without the
withheld fields, is ``store.student.student_view``, and the exercises' answers are read
or computed by ``store.answers``.

No JAX here: the renderers read this module. It imports only numpy and the config.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from reportgen.config.course_mode import ExerciseConfig
from reportgen.config.errors import ConfigError
from reportgen.config.schema import Config
from reportgen.layout import RESULTS_FILE as RESULTS_FILE

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


# ------------------------------------------------------------------ copies and paths


def is_student_copy(config: Config) -> bool:
    """The one rule: a handout with exercises, for the student audience, is a student copy
    (no answer anywhere in it; the instructor copy adds answers and worked solutions)."""
    return bool(config.exercises) and config.audience == "student"


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
        elif has_field(where, part):
            where = getattr(where, part)
        else:
            raise KeyError(part)
    return where.item() if isinstance(where, np.generic) else where


def has_field(record: Any, name: str) -> bool:
    """Whether a results record (or the config it holds) has a field of that name."""
    if dataclasses.is_dataclass(record):
        return name in {field.name for field in dataclasses.fields(record)}
    if isinstance(record, Config | ExerciseConfig) or hasattr(type(record), "model_fields"):
        return name in type(record).model_fields
    return False


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
