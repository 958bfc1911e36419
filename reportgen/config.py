"""The handout config: TOML in, a validated frozen ``Config`` out.

Every error names its field as a dotted path (``runs[1].batch_size``) and says what was
expected; the command line turns a ``ConfigError`` into one line and exit code 2.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import hashlib
import json
import math
import os
import re
import stat
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from reportgen.optimizers import OptimizerName
from reportgen.store.paths import reports_dir, shipped_handouts

DEFAULT_HANDOUT = "source-notebook"
#: The name of a config not read from a file (the Python API's ``Config()``).
DEFAULT_NAME = "handout"
#: The build date when a config gives none (a fixed date: builds never read the clock).
DEFAULT_DATE = dt.date(2026, 1, 1)
#: The most memory a loss-surface grid may take, as a share of physical memory.
SURFACE_MEMORY_SHARE = 0.25

# ---------------------------------------------------------------- limits (README "Limits")

#: The largest config file read (the shipped ones are about 2 KB).
MAX_CONFIG_BYTES = 1 << 20
#: Arrays and inline tables nested in each other, and parts of one dotted key: a handout
#: needs 3 of each; tomllib recurses per level and re-checks every prefix of a key.
MAX_TOML_NESTING = 16
MAX_KEY_PARTS = 16
#: Characters of a ``--set`` key.
MAX_KEY_CHARS = 256
#: Characters of the title and author, and of a run's name (legends and headings).
MAX_TITLE_CHARS = 200
MAX_NAME_CHARS = 100
#: Runs in one handout: each gets a section, a figure and a 3D panel.
MAX_RUNS = 12
#: Update steps of all runs together: results.json keeps every step (~90 bytes each).
MAX_STEPS = 1_000_000
#: Learning rates x epochs of the sweep (one vectorised call; only final losses are kept).
MAX_SWEEP_STEPS = 10_000_000
#: (update steps + sweep steps) x data.n: the compute work (each step reads every sample).
MAX_SAMPLE_STEPS = 10**10
#: epochs x data.n of the mini-batch runs: the shuffled index schedule held in memory.
MAX_SHUFFLED = 10_000_000
#: |theta|, |x|, noise and the surface and init coordinates: y stays below ~1e14 and every
#: loss sum over up to 1e8 samples below ~1e37, finite in float32 as well as float64.
MAX_MAGNITUDE = 1e7
#: A range [low, high] must be at least this wide relative to max(1, |low|, |high|): the
#: Hessian's smallest eigenvalue (~ width^2 / 6) then stands well above float64 rounding.
MIN_RELATIVE_WIDTH = 1e-6


class ConfigError(ValueError):
    """A bad config, override or path; the message is what the user sees."""


Finite = Annotated[float, Field(allow_inf_nan=False)]
Pair = tuple[Finite, Finite]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False,
                              use_attribute_docstrings=True)


def _check_magnitude(value: Pair) -> Pair:
    if any(abs(v) > MAX_MAGNITUDE for v in value):
        raise ValueError(f"expected numbers between -{MAX_MAGNITUDE:g} and {MAX_MAGNITUDE:g}, "
                         f"got {_show(list(value))}")
    return value


def _check_range(value: Pair, *, what: str = "range") -> Pair:
    low, high = _check_magnitude(value)
    if not low < high:
        raise ValueError(f"expected an increasing {what} [low, high] with low < high")
    least = MIN_RELATIVE_WIDTH * max(1.0, abs(low), abs(high))
    if high - low < least:
        raise ValueError(f"expected a {what} at least {least:g} wide ({MIN_RELATIVE_WIDTH:g} of "
                         f"its largest end, or of 1), got {_show(list(value))}")
    return value


#: A pair of coordinates on the scale of the data (a true theta, a start).
BoundedPair = Annotated[Pair, AfterValidator(_check_magnitude)]


def _check_text(limit: int) -> AfterValidator:
    """A validator of user text: at most ``limit`` characters, no control characters.

    Control characters (NUL, escape, newline, ...) are refused rather than stripped: a
    title is recorded as given in config.toml and results.json, and none of them belongs
    in one; C1 controls and lone surrogates likewise.
    """
    def check(text: str) -> str:
        if len(text) > limit:
            raise ValueError(f"expected at most {limit} characters, got {len(text)}")
        for index, char in enumerate(text):
            if unicodedata.category(char) in ("Cc", "Cs"):
                raise ValueError(f"expected text without control characters, got "
                                 f"U+{ord(char):04X} at character {index + 1}")
        return text

    return AfterValidator(check)


Title = Annotated[str, _check_text(MAX_TITLE_CHARS)]
Name = Annotated[str, _check_text(MAX_NAME_CHARS)]


class DataConfig(_Strict):
    """How the synthetic data are made: y = theta0 + theta1 * x + noise * N(0, 1)."""

    n: StrictInt = Field(100, ge=2, le=100_000_000)  # a line needs two points
    """How many points (x, y): at least 2, for a line."""
    theta: BoundedPair = (4.0, 3.0)
    """The true intercept and slope [theta0, theta1] the data are drawn from."""
    x_range: Pair = (0.0, 2.0)
    """x is uniform on this interval [low, high]."""
    noise: Finite = Field(1.0, ge=0.0, le=MAX_MAGNITUDE)
    """Standard deviation of the Gaussian noise added to y."""
    rng: Literal["numpy-legacy", "jax"] = "numpy-legacy"
    """The random stream: the source notebook's numpy RandomState, or jax.random."""

    _x_range_increasing = field_validator("x_range")(_check_range)


class SurfaceConfig(_Strict):
    """The (theta0, theta1) grid on which the loss surface is evaluated."""

    theta0: Pair = (-10.0, 10.0)
    """The grid's intercept axis [from, to]."""
    theta1: Pair = (-10.0, 10.0)
    """The grid's slope axis [from, to]."""
    resolution: StrictInt = Field(100, ge=2)
    """Points per axis (resolution x resolution losses)."""
    method: Literal["auto", "exact", "stats"] = "auto"
    """exact (every sample, vmapped and chunked), stats (sufficient statistics, O(1) per
    point) or auto."""

    _ranges_increasing = field_validator("theta0", "theta1")(_check_range)

    @field_validator("resolution")
    @classmethod
    def _fits_in_memory(cls, resolution: int) -> int:
        need = surface_bytes(resolution)
        have = physical_memory_bytes() * SURFACE_MEMORY_SHARE
        if need > have:
            limit = int(math.sqrt(have / 32))
            raise ValueError(
                f"expected at most {limit} on this machine (a {resolution}x{resolution} grid "
                f"needs {need / 2**30:.1f} GiB), got {resolution}"
            )
        return resolution


class RunConfig(_Strict):
    """One optimizer run; settings follow optax's names and defaults."""

    name: Name = "Batch gradient descent"
    """The run's name in the handout."""
    optimizer: OptimizerName = "gd"
    """The update rule (optax): gd, momentum, nesterov, adam or rmsprop."""
    learning_rate: Finite = Field(0.1, gt=0.0)
    """The step size eta."""
    epochs: StrictInt = Field(10, ge=1, le=1_000_000)
    """Passes over the data; full batch: one step per epoch."""
    batch_size: StrictInt | None = Field(None, ge=1)
    """Points per step, shuffled each epoch; unset: all n (full batch); 1: SGD."""
    init: Literal["random"] | BoundedPair = "random"
    """The start: "random" (from the seed's stream) or [theta0, theta1]."""
    momentum: Finite = Field(0.9, ge=0.0, lt=1.0)
    """momentum and nesterov: the velocity's decay (optax.sgd's momentum)."""
    b1: Finite = Field(0.9, ge=0.0, lt=1.0)
    """adam: decay of the gradient's running mean."""
    b2: Finite = Field(0.999, ge=0.0, lt=1.0)
    """adam: decay of the squared gradient's running mean."""
    decay: Finite = Field(0.9, ge=0.0, lt=1.0)
    """rmsprop: decay of the squared gradient's running mean."""
    eps: Finite = Field(1e-8, gt=0.0)
    """adam and rmsprop: added to the denominator."""


class SweepConfig(_Strict):
    """Full-batch runs at many learning rates, computed in one vectorised call."""

    rates: list[Finite] | None = Field(None, max_length=100_000)
    """The learning rates (or give min_rate, max_rate and num)."""
    min_rate: Finite | None = Field(None, gt=0.0)
    """The smallest rate of a log-spaced sweep."""
    max_rate: Finite | None = Field(None, gt=0.0)
    """The largest rate of a log-spaced sweep."""
    num: StrictInt = Field(64, ge=2, le=100_000)
    """How many log-spaced rates between min_rate and max_rate."""
    epochs: StrictInt = Field(100, ge=1, le=1_000_000)
    """Full-batch steps at every rate."""
    init: BoundedPair = (0.0, 0.0)
    """The common start [theta0, theta1]."""

    @model_validator(mode="after")
    def _rates_given_once(self) -> SweepConfig:
        if self.rates is not None:
            if self.min_rate is not None or self.max_rate is not None:
                raise ValueError("give either rates or min_rate/max_rate, not both")
            if not self.rates or any(rate <= 0 for rate in self.rates):
                raise ValueError("expected rates to be a non-empty list of positive numbers")
        elif self.min_rate is None or self.max_rate is None:
            raise ValueError("expected rates = [...] or both min_rate and max_rate")
        elif not self.min_rate < self.max_rate:
            raise ValueError("expected min_rate < max_rate")
        return self

    def learning_rates(self) -> list[float]:
        """The rates, given or spaced evenly on a log axis."""
        if self.rates is not None:
            return list(self.rates)
        assert self.min_rate is not None and self.max_rate is not None
        low, high = math.log10(self.min_rate), math.log10(self.max_rate)
        step = (high - low) / (self.num - 1)
        return [10 ** (low + i * step) for i in range(self.num)]


# ---------------------------------------------------------------- course mode

#: Exercise ids name PDF form fields and CSV columns: short, plain, unambiguous.
EXERCISE_ID = r"^[A-Za-z][A-Za-z0-9_-]{0,39}$"
#: A dotted path into results.json: keys and list indices (``ols.theta.1``).
RESULTS_PATH = r"^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|[0-9]+))*$"
MATRIX_MODES = ("product", "zip")
#: Config fields that change how a handout reads, never its numbers (nor do run names).
PRESENTATION_FIELDS = ("title", "author", "date", "paper", "audience", "student", "exercises")


class ExerciseConfig(_Strict):
    """An exercise: its prompt, where its answer lives in results.json, how it is marked."""

    id: str = Field(pattern=EXERCISE_ID)
    """The exercise's name: its PDF form field and its answer-key column."""
    prompt: str = Field(min_length=1, max_length=4000)
    """The question (Jinja: may use the results, e.g. {{ data.n }})."""
    answer: str = Field(pattern=RESULTS_PATH, max_length=200)
    """Where the answer lives: a dotted path into results.json (ols.theta.1)."""
    tolerance: Finite = Field(0.001, gt=0.0, le=1.0)
    """Relative tolerance an answer is marked within."""
    points: Finite = Field(1.0, gt=0.0, le=1000.0)
    """Points for a correct answer."""
    solution: str = Field("", max_length=8000)
    """The worked solution in instructor copies (Jinja, with answer)."""


class StudentConfig(_Strict):
    """Who a student's handout is for (set by ``reportgen batch`` from the roster)."""

    id: Annotated[str, _check_text(64)] = Field(min_length=1, max_length=64)
    """The student's id (from the roster)."""
    name: Annotated[str, _check_text(200)] = Field("", max_length=200)
    """The student's name (from the roster)."""


class ConstraintsConfig(_Strict):
    """What every student's problem must satisfy; draws are repeated until it does."""

    condition_number: Pair | None = None
    """Every student's condition number in [low, high]."""
    max_stable_lr: Pair | None = None
    """Every student's 2/L in [low, high]."""
    no_divergence: bool = False
    """No run may diverge."""
    max_redraws: StrictInt = Field(100, ge=0, le=10_000)
    """How often a student's draw may be repeated before the batch gives up."""

    _ranges_increasing = field_validator("condition_number", "max_stable_lr")(
        lambda value: value if value is None else _check_range(value)
    )


class StudentsConfig(_Strict):
    """A handout per student: the roster, the secret salt, per-student draws."""

    roster: str = Field(min_length=1)
    """A CSV with columns id,name (others ignored), relative to the config."""
    salt: str = Field(min_length=1, max_length=1000)
    """A secret: with a student's id it seeds their own data (never in a student file)."""
    ranges: dict[str, Pair | list[Pair]] = Field(default_factory=dict)
    """Per-student values by dotted key, each drawn uniformly: [low, high] or a list of
    them."""
    constraints: ConstraintsConfig = ConstraintsConfig()
    """What every student's problem must satisfy (redrawn until it does)."""
#: The PDF standards a handout may claim (WeasyPrint's ``pdf_variant``); every one is tagged.
PdfStandard = Literal["pdf/ua-1", "pdf/a-3a", "pdf/a-3b", "pdf/a-3u"]
PDF_STANDARDS: tuple[str, ...] = get_args(PdfStandard)


class PdfConfig(_Strict):
    """How the PDF is written: always tagged; PDF/UA-1 (accessible) or PDF/A-3 (archival,
    which allows the attached config and results)."""

    standard: PdfStandard = "pdf/ua-1"
    """The PDF standard claimed: pdf/ua-1 (accessible) or a PDF/A-3 level (archival)."""


class Config(_Strict):
    """A whole handout: data, surface grid, optimizer runs and presentation."""

    _name: str = PrivateAttr(DEFAULT_NAME)

    title: Title = "Gradient descent for linear regression"
    """The handout's title."""
    author: Title = ""
    """Who it is by (printed under the title)."""
    date: dt.date = DEFAULT_DATE
    """The build date printed and stamped into the PDF (never the clock)."""
    seed: StrictInt = Field(0, ge=0, le=2**32 - 1)
    """One seed for the data, the random starts and the batch orders."""
    precision: Literal["float64", "float32"] = "float64"
    """float64 or float32."""
    device: Literal["auto", "cpu", "gpu"] = "auto"
    """Where JAX computes: auto (a GPU when JAX sees one), cpu or gpu."""
    paper: Literal["a4", "letter"] = "a4"
    """The PDF's paper size: a4 or letter."""
    pdf: PdfConfig = PdfConfig()
    """How the PDF is written."""
    data: DataConfig = DataConfig()
    """How the synthetic data are made."""
    surface: SurfaceConfig = SurfaceConfig()
    """The loss-surface grid."""
    runs: list[RunConfig] = Field(default_factory=lambda: [RunConfig()], min_length=1,
                                  max_length=MAX_RUNS)
    """The optimizer runs, one section of the handout each."""
    sweep: SweepConfig | None = None
    """Optional: full-batch runs at many learning rates in one vectorised call."""
    audience: Literal["student", "instructor"] = "student"
    """With exercises: student copies withhold the answers; instructor copies add
    solutions."""
    student: StudentConfig | None = None
    """Who this copy is for (set by reportgen batch from the roster)."""
    exercises: list[ExerciseConfig] = Field(default_factory=list)
    """Exercises with answers read from the results, marked within a tolerance."""
    matrix: dict[str, Any] | None = None
    """reportgen batch: variants over dotted keys (arrays of values); mode = "product" or
    "zip"."""
    students: StudentsConfig | None = None
    """reportgen batch: a handout per student of a roster."""

    @model_validator(mode="after")
    def _exercise_ids_unique(self) -> Config:
        seen: set[str] = set()
        for index, exercise in enumerate(self.exercises):
            if exercise.id in seen:
                raise _FieldError(f"exercises[{index}].id",
                                  f"expected a unique id, got {exercise.id!r} twice")
            seen.add(exercise.id)
        return self

    @model_validator(mode="after")
    def _matrix_is_lists(self) -> Config:
        for key, values in (self.matrix or {}).items():
            if key == "mode":
                if values not in MATRIX_MODES:
                    raise _FieldError("matrix.mode", f"expected \"product\" or \"zip\", "
                                      f"got {_show(values)}")
            elif not isinstance(values, list) or not values:
                raise _FieldError(f'matrix."{key}"', f"expected a non-empty array of values, "
                                  f"got {_show(values)}")
        return self

    @model_validator(mode="after")
    def _batches_fit_the_data(self) -> Config:
        for index, run in enumerate(self.runs):
            if run.batch_size is not None and run.batch_size > self.data.n:
                raise _FieldError(
                    f"runs[{index}].batch_size",
                    f"expected 1..{self.data.n} (data.n), got {run.batch_size}",
                    related=("data.n",),
                )
        return self

    @model_validator(mode="after")
    def _work_is_bounded(self) -> Config:
        """Steps, shuffles, the sweep and the compute work stay within the limits."""
        n = self.data.n
        steps = [run.epochs * -(-n // self.batch_size(run)) for run in self.runs]
        for index, (run, count) in enumerate(zip(self.runs, steps, strict=True)):
            per_epoch = count // run.epochs
            if count > MAX_STEPS:
                raise _FieldError(
                    f"runs[{index}].epochs",
                    f"expected at most {MAX_STEPS} update steps (epochs x {per_epoch} "
                    f"batch{'es' if per_epoch != 1 else ''} per epoch), got {count}",
                    related=("data.n", f"runs[{index}].batch_size"),
                )
        if sum(steps) > MAX_STEPS:
            raise _FieldError("runs", f"expected at most {MAX_STEPS} update steps in all runs "
                              f"together (results.json keeps each), got {sum(steps)}")
        shuffled = sum(run.epochs * n for run in self.runs if self.batch_size(run) < n)
        if shuffled > MAX_SHUFFLED:
            raise _FieldError("runs", f"expected epochs x data.n of the mini-batch runs at most "
                              f"{MAX_SHUFFLED:.0e} (each epoch shuffles all points), got "
                              f"{shuffled:.2e}", related=("data.n",))
        sweep = 0
        if self.sweep is not None:
            rates = self.sweep.rates
            sweep = (len(rates) if rates is not None else self.sweep.num) * self.sweep.epochs
            if sweep > MAX_SWEEP_STEPS:
                raise _FieldError("sweep", f"expected learning rates x epochs at most "
                                  f"{MAX_SWEEP_STEPS:.0e}, got {sweep:.2e}")
        # A full-batch step reads every sample, a mini-batch step its batch (its full-data
        # loss comes from the sufficient statistics), a sweep step none (statistics too).
        runs_work = sum(count * self.batch_size(run)
                        for run, count in zip(self.runs, steps, strict=True))
        work = runs_work + sweep + n
        if work > MAX_SAMPLE_STEPS:
            field = "sweep" if sweep > runs_work else "runs"
            raise _FieldError(field, f"expected the samples read by every update step (steps x "
                              f"batch size, summed) at most {MAX_SAMPLE_STEPS:.0e}, got "
                              f"{work:.2e}", related=("data.n",))
        return self

    def __eq__(self, other: object) -> bool:
        """Configs are equal when their fields are (the name is not part of a config)."""
        if not isinstance(other, Config):
            return NotImplemented
        return self.normalised() == other.normalised()

    def __hash__(self) -> int:
        return hash(self.digest())

    @property
    def name(self) -> str:
        """The handout's name: its TOML file's stem (the default report folder's name)."""
        return self._name

    def named(self, name: str) -> Config:
        """This config under another name (a copy)."""
        copy = self.model_copy()
        copy._name = name
        return copy

    def batch_size(self, run: RunConfig) -> int:
        """A run's batch size, the full data when unset."""
        return self.data.n if run.batch_size is None else run.batch_size

    def normalised(self) -> dict[str, Any]:
        """Plain data with every default filled in: what results.json records.

        A handout's config, not a course's: ``matrix`` and ``students`` (how ``reportgen
        batch`` makes variants) are left out, and the exercise fields only appear when
        the handout has exercises, so a variant's config is exactly what a single build
        with the same values gives.
        """
        plain = self.model_dump(mode="json", exclude={"matrix", "students"})
        for run, raw in zip(plain["runs"], self.runs, strict=True):
            run["batch_size"] = self.batch_size(raw)
        if not self.exercises:
            for key in ("audience", "exercises"):
                plain.pop(key)
        if self.student is None:
            plain.pop("student")
        return plain

    @property
    def withholds_answers(self) -> bool:
        """Whether this is a student copy of a handout with exercises (answers withheld)."""
        return bool(self.exercises) and self.audience == "student"

    def digest(self) -> str:
        """sha256 of the normalised config, as canonical JSON."""
        return _sha256_json(self.normalised())

    def numbers(self) -> dict[str, Any]:
        """The part of the normalised config that decides the numbers: without the
        presentation fields (``PRESENTATION_FIELDS``, run names)."""
        plain = {key: value for key, value in self.normalised().items()
                 if key not in PRESENTATION_FIELDS}
        plain["runs"] = [{key: value for key, value in run.items() if key != "name"}
                         for run in plain["runs"]]
        return plain

    def numbers_digest(self) -> str:
        """sha256 of ``numbers()``: what the compute cache keys on, so a new title, author,
        paper, date, run name or exercise never recomputes."""
        return _sha256_json(self.numbers())


SCHEMA_ID = "https://reportgen.invalid/config.schema.json"


def json_schema() -> dict[str, Any]:
    """The config's JSON Schema (draft 2020-12), from the pydantic model: every key, its
    type, range, allowed values and description; unknown keys are refused."""
    schema = _canonical_schema(Config.model_json_schema(mode="validation"))
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            **schema}


def _canonical_schema(node: Any) -> Any:
    """The schema in one spelling whatever pydantic version wrote it (2.7 wraps a ``$ref``
    with a default in a one-item ``allOf``, repeats a ``const`` as an ``enum``; 2.11 adds
    ``additionalProperties: true``): the same rules, the same text."""
    if isinstance(node, list):
        return [_canonical_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _canonical_schema(value) for key, value in node.items()}
    all_of = out.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and set(all_of[0]) == {"$ref"}:
        del out["allOf"]
        out["$ref"] = all_of[0]["$ref"]
    if "const" in out and out.get("enum") == [out["const"]]:
        del out["enum"]
    if out.get("additionalProperties") is True and out.get("type") == "object":
        del out["additionalProperties"]
    return out


def json_schema_text() -> str:
    """``json_schema()`` as the text ``reportgen schema`` prints and ``init`` writes."""
    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _sha256_json(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class _FieldError(ValueError):
    """Raised inside validators to name a field deeper than the one validated."""

    def __init__(self, field: str, message: str, related: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.related = tuple(related)  # other fields the error follows from (data.n)


# ---------------------------------------------------------------- memory


def surface_bytes(resolution: int) -> int:
    """Bytes a resolution x resolution float64 grid takes while built and written."""
    return resolution * resolution * 8 * 4


def physical_memory_bytes() -> int:
    """This machine's physical memory (8 GiB when the OS will not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


# ---------------------------------------------------------------- errors


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key_part(part: str) -> str:
    """A key part as TOML writes it: bare when it can be, else quoted (``"x.y"``)."""
    return part if _BARE_KEY.fullmatch(part) else _toml_string(part)


def _dotted(location: Sequence[int | str]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{_key_part(part)}" if path else _key_part(str(part))
    return path or "config"


def _model_at(location: Sequence[int | str]) -> type[BaseModel] | None:
    """The pydantic model that holds the field at ``location``, if any."""
    model: type[BaseModel] = Config
    for part in location[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        inner = _first_model(field.annotation)
        if inner is None:
            return None
        model = inner
    return model


def _first_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _first_model(arg)
        if found is not None:
            return found
    return None


def _describe(error: Mapping[str, Any]) -> str:
    """One line for one pydantic error: the field, what was expected, what was given."""
    location = tuple(p for p in error["loc"] if not _is_union_tag(p))
    kind = error["type"]
    given = error.get("input")
    if "init" in location and location[0] == "runs":
        # Both union branches fail; validate() keeps the first line per field, which
        # shows the whole value rather than one element of it.
        field = _dotted(location[: location.index("init") + 1])
        return (f"{field}: expected \"random\" or a pair of finite numbers [theta0, theta1] "
                f"between -{MAX_MAGNITUDE:g} and {MAX_MAGNITUDE:g}, got {_show(given)}")
    if kind == "extra_forbidden":
        key = str(location[-1])
        model = _model_at(location)
        known = list(model.model_fields) if model else []
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; expected one of {', '.join(known)}"
        return f"{_dotted(location)}: unknown key{hint}"
    if kind == "value_error" and isinstance(error.get("ctx", {}).get("error"), _FieldError):
        inner: _FieldError = error["ctx"]["error"]
        return f"{inner.field}: {inner.message}"
    if kind in ("int_type", "int_from_float", "int_parsing"):
        return f"{_dotted(location)}: expected a whole number, got {_show(given)}"
    if kind in ("float_type", "float_parsing"):
        return f"{_dotted(location)}: expected a number, got {_show(given)}"
    if kind == "finite_number":
        return f"{_dotted(location)}: expected a finite number, got {_show(given)}"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{_dotted(location)}: expected {expected}, got {_show(given)}"
    if kind in ("too_short", "too_long", "tuple_type") and location and location[-1] in (
        "theta", "x_range", "theta0", "theta1", "init",
    ):
        return f"{_dotted(location)}: expected a pair [a, b], got {_show(given)}"
    if kind == "missing" and len(location) > 1 and isinstance(location[-1], int):
        return f"{_dotted(location[:-1])}: expected a pair [a, b], got {_show(given)}"
    if kind == "missing":
        return f"{_dotted(location)}: required"
    if kind in _EXPECTED_TYPE:
        return f"{_dotted(location)}: expected {_expected_type(kind, location)}, got {_show(given)}"
    if kind == "too_short" and location == ("runs",):
        return "runs: expected at least one [[runs]] table, got none"
    if kind == "too_long":
        limit = error.get("ctx", {}).get("max_length")
        count = len(given) if isinstance(given, list | tuple) else "more"
        what = "[[runs]] tables" if location == ("runs",) else "entries"
        return f"{_dotted(location)}: expected at most {limit} {what}, got {count}"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{_dotted(location)}: expected a value {_bound(error)}, got {_show(given)}"
    if kind == "value_error" and "got " not in message and given is not None:
        message = f"{message}, got {_show(given)}"
    return f"{_dotted(location)}: {message}"


_EXPECTED_TYPE = {
    "string_type": "text in quotes",
    "model_type": "a table",
    "dict_type": "a table",
    "list_type": "an array [...]",
    "bool_type": "true or false",
    "date_type": "a date like 2026-01-31",
    "date_parsing": "a date like 2026-01-31",
    "date_from_datetime_parsing": "a date like 2026-01-31",
    "date_from_datetime_inexact": "a date like 2026-01-31",
}


def _expected_type(kind: str, location: Sequence[int | str]) -> str:
    """What a wrongly typed field should have been, in TOML's words."""
    if location and location[0] == "runs" and kind in ("model_type", "list_type"):
        return "an array of [[runs]] tables" if len(location) == 1 else "a [[runs]] table"
    if kind in ("model_type", "dict_type"):
        return f"a table [{_dotted(location)}]"
    return _EXPECTED_TYPE[kind]


def _bound(error: Mapping[str, Any]) -> str:
    ctx = error.get("ctx", {})
    symbols = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    return " and ".join(f"{symbols[k]} {v:g}" if isinstance(v, float) and abs(v) >= 1e6
                        else f"{symbols[k]} {v}" for k, v in ctx.items() if k in symbols)


def _show(value: Any) -> str:
    """A given value as TOML spells it (``nan``, ``inf``, ``[1.0, 2.0]``), shortened."""
    text = _toml_literal(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _toml_literal(value: Any) -> str:
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    try:
        return json.dumps(value)
    except TypeError:
        return repr(value)


def _is_union_tag(part: int | str) -> bool:
    """pydantic names union branches in locations ('list[...]', 'literal[...]'); drop them."""
    return isinstance(part, str) and ("[" in part or part in {"float", "str", "int"})


def _related(error: Mapping[str, Any]) -> tuple[str, ...]:
    """Fields other than the one named that an error follows from (``data.n``)."""
    inner = error.get("ctx", {}).get("error")
    return inner.related if isinstance(inner, _FieldError) else ()


def _one_per_field(
    described: Iterable[tuple[str, tuple[str, ...]]],
) -> list[tuple[str, tuple[str, ...]]]:
    """The first line for each field (a union field fails once per branch)."""
    seen: dict[str, tuple[str, tuple[str, ...]]] = {}
    for line, related in described:
        seen.setdefault(line.partition(": ")[0], (line, related))
    return list(seen.values())


def validate(
    raw: Mapping[str, Any], source: str = "config", overrides: Sequence[Override] = ()
) -> Config:
    """Validate plain data into a ``Config``; a ``ConfigError`` lists each bad field.

    A field set by an override, or an error that follows from one (a batch size larger
    than an overridden ``data.n``), is blamed on that ``--set`` rather than on ``source``.
    """
    try:
        return Config.model_validate(dict(raw))
    except ValidationError as exc:
        described = _one_per_field((_describe(error), _related(error)) for error in exc.errors())
        shown = [f"{_source_of((line.partition(': ')[0], *related), source, overrides)}: {line}"
                 for line, related in described[:5]]
        raise ConfigError("\n".join(shown)) from None


def _source_of(fields: Sequence[str], source: str, overrides: Sequence[Override]) -> str:
    for override in reversed(overrides):  # the last override of a key wins
        key = _dotted([int(k) if k.isdigit() else k for k in override.keys])
        for field in fields:
            if field == key or field.startswith((key + ".", key + "[")) or key.startswith(
                (field + ".", field + "[")
            ):
                return override.label
    return source


# ---------------------------------------------------------------- loading

_FILE_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_a_file(spec: object, mode: int) -> ConfigError:
    kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
    return ConfigError(f"config: '{spec}' is {kind}, not a file; expected a TOML file")


def resolve_path(spec: str | os.PathLike[str] | None) -> Path:
    """A config path from a path or the name of a shipped handout (default: source-notebook)."""
    if spec is None:
        spec = DEFAULT_HANDOUT
    path = Path(spec)
    try:
        mode: int | None = path.stat().st_mode
    except (OSError, ValueError):
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        raise ConfigError(f"config: '{spec}' is a directory; expected a TOML file")
    if mode is not None and stat.S_ISREG(mode):
        return path
    if mode is not None:  # a FIFO or a device: never opened (a FIFO would block)
        raise _not_a_file(spec, mode)
    shipped = reports_dir() / f"{spec}.toml"
    if "/" not in str(spec) and shipped.is_file():
        return shipped
    names = ", ".join(shipped_handouts())
    raise ConfigError(f"config: no such file or shipped handout '{spec}' (shipped: {names})")


def read_text(path: Path) -> str:
    """A config file's text: a regular file of at most ``MAX_CONFIG_BYTES`` of UTF-8.

    The file is opened without blocking and checked to be a regular file before anything
    is read, so a FIFO or a device (``/dev/zero``) is named rather than read; a leading
    byte-order mark (as Windows editors write) is dropped.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as stream:
        mode = os.fstat(stream.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise _not_a_file(path, mode)
        try:
            data = stream.read(MAX_CONFIG_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path.name}: expected a config of at most {MAX_CONFIG_BYTES:,} "
                          f"bytes, got {_size(path, len(data))}")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise ConfigError(f"{path.name}: expected UTF-8 text") from None


def _size(path: Path, read: int) -> str:
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return f"{size:,}" if size >= read else f"more than {read - 1:,}"


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; syntax errors name the file, line and column."""
    return parse_toml(read_text(path), path.name)


def parse_toml(text: str, source: str = "config") -> dict[str, Any]:
    """Parse TOML text after a linear check of its shape, so that a hostile nesting is
    refused rather than recursed into. Errors are ``ConfigError`` lines naming ``source``."""
    too_deep = toml_shape_error(text)
    if too_deep is not None:
        raise ConfigError(f"{source}: {too_deep}")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: {_toml_syntax(exc)}") from None
    except RecursionError:  # the scan above makes this unreachable; a backstop
        raise ConfigError(f"{source}: invalid TOML: nested too deeply") from None


# Strings and comments (skipped whole, so that brackets and dots inside them do not
# count), and the punctuation that nests or splits keys. An unterminated string matches
# nothing here; tomllib then reports it.
_TOML_TOKEN = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"{3,5}'
    r"|'''(?:[^']|'(?!''))*'{3,5}"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'[^'\n]*'"
    r"|#[^\n]*"
    r"|[\[\]{},.=\n]",
    re.S,
)


def toml_shape_error(text: str) -> str | None:
    """Why ``text`` nests too deeply to be parsed safely, or None; one linear scan.

    Counts the arrays and inline tables open at once (at most ``MAX_TOML_NESTING``) and
    the parts of each dotted key and table header (at most ``MAX_KEY_PARTS``).
    """
    stack: list[str] = []
    line = 1
    at_key, header, dots = True, False, 0
    for match in _TOML_TOKEN.finditer(text):
        token = match.group()
        if token == "\n":
            line += 1
            if not stack:
                at_key, header, dots = True, False, 0
        elif token[0] in "\"'":
            line += token.count("\n")
        elif token[0] == "#":
            continue
        elif token == "[" and not stack and at_key and dots == 0:
            header = True  # [table] or [[array of tables]]
        elif token == "]" and header:
            header = at_key = False
        elif token == ".":
            if at_key:
                dots += 1
                if dots >= MAX_KEY_PARTS:
                    return f"line {line}: expected a dotted key of at most {MAX_KEY_PARTS} parts"
        elif token == "=":
            at_key, dots = False, 0
        elif token in "[{":
            stack.append(token)
            if len(stack) > MAX_TOML_NESTING:
                return (f"line {line}: expected arrays and inline tables nested at most "
                        f"{MAX_TOML_NESTING} deep")
            at_key, dots = token == "{", 0
        elif token in "]}":
            if stack:
                stack.pop()
            at_key = False
        elif token == ",":
            at_key, dots = bool(stack) and stack[-1] == "{", 0
    return None


def _toml_syntax(exc: tomllib.TOMLDecodeError) -> str:
    """tomllib's message with the place first: ``line 2, column 6: invalid TOML: expected ...``."""
    text = str(exc)
    found = re.search(r"\s*\(at (line \d+, column \d+|end of document)\)$", text)
    if found is None:
        return f"invalid TOML: {text}"
    what = text[: found.start()]
    return f"{found.group(1)}: invalid TOML: {what[:1].lower()}{what[1:]}"


class Override(NamedTuple):
    """One value set over the config: where, what, and how the user wrote it."""

    keys: tuple[str, ...]
    value: Any
    label: str  # "--set runs.0.learning_rate=0.3", or "overrides['runs.0.learning_rate']"


def _label(text: str) -> str:
    """``--set TEXT`` for messages, shortened when TEXT is long."""
    return f"--set {text if len(text) <= 80 else text[:77] + '...'}"


def parse_key(text: str, label: str) -> tuple[str, ...]:
    """A dotted key read with TOML's grammar: ``data."x.y"`` is ``("data", "x.y")``."""
    bad = ConfigError(f"{label}: expected KEY=VALUE with a dotted key "
                      f"(e.g. runs.0.learning_rate=0.3)")
    key = text.strip()
    if not key or "\n" in key:
        raise bad
    if len(key) > MAX_KEY_CHARS:
        raise ConfigError(f"{label}: expected a key of at most {MAX_KEY_CHARS} characters, "
                          f"got {len(key)}")
    if toml_shape_error(key) is not None:
        raise ConfigError(f"{label}: expected a dotted key of at most {MAX_KEY_PARTS} parts")
    try:
        table: Any = tomllib.loads(f"{key} = 0")
    except tomllib.TOMLDecodeError:
        raise bad from None
    parts: list[str] = []
    while isinstance(table, dict) and len(table) == 1:
        part, table = next(iter(table.items()))
        parts.append(part)
    if isinstance(table, bool) or table != 0:
        raise bad
    return tuple(parts)


def _split_override(text: str) -> tuple[str, str] | None:
    """``(key, value)`` split at the first ``=`` outside quotes, or None."""
    for match in _TOML_TOKEN.finditer(text):
        if match.group() == "=":
            return text[: match.start()], text[match.end():]
    return None


def parse_override(text: str) -> Override:
    """Split ``dotted.key=value``; the value is read as TOML, else kept as a string.

    The key follows TOML's grammar (``data."x.y"=1`` sets the key ``x.y``); the value's
    nesting is checked before it is parsed.
    """
    label = _label(text)
    split = _split_override(text)
    if split is None:
        raise ConfigError(f"{label}: expected KEY=VALUE with a dotted key "
                          f"(e.g. runs.0.learning_rate=0.3)")
    key, value = split
    keys = parse_key(key, label)
    value = value.strip()
    too_deep = toml_shape_error(f"v = {value}")
    if too_deep is not None:
        raise ConfigError(f"{label}: {too_deep.partition(': ')[2]}")
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return Override(keys, parsed, label)


def overrides_from(values: Sequence[str] | Mapping[str, Any]) -> list[Override]:
    """``--set`` texts, or a mapping of dotted keys to values (the Python API's form)."""
    if isinstance(values, Mapping):
        overrides = []
        for key, value in values.items():
            label = f"overrides[{str(key)!r}]"
            overrides.append(Override(parse_key(str(key), label), value, label))
        return overrides
    return [parse_override(text) for text in values]


def apply_override(
    raw: dict[str, Any], keys: Sequence[str], value: Any, label: str | None = None
) -> None:
    """Set ``value`` at the dotted ``keys`` inside ``raw`` (list items by index).

    ``label`` names the override in errors (default: ``--set KEY``).
    """
    named = label or f"--set {_dotted(keys)}"
    where: Any = raw
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        parent = _dotted(keys[:depth])
        if isinstance(where, list):
            if not key.isdigit() or int(key) >= len(where):
                raise ConfigError(
                    f"{named}: {parent} has {len(where)} "
                    f"{'entry' if len(where) == 1 else 'entries'}; expected an "
                    f"index 0..{len(where) - 1}, got {key!r}"
                )
            if last:
                where[int(key)] = value
            else:
                where = where[int(key)]
        elif isinstance(where, dict):
            if last:
                where[key] = value
            else:
                if key == "runs" and key not in where:
                    where[key] = [RunConfig().model_dump(mode="json")]
                where = where.setdefault(key, {})
        else:
            raise ConfigError(
                f"{named}: {parent} is {_show(where)}, not a table to set "
                f"{key!r} in"
            )


class Source(NamedTuple):
    """A config as read, before validation: its file, raw TOML data and overrides."""

    path: Path
    raw: dict[str, Any]
    overrides: list[Override]

    def with_overrides(self, extra: Sequence[Override]) -> Config:
        """The validated config with ``extra`` applied over the file and its overrides."""
        raw = copy.deepcopy(self.raw)
        for override in extra:
            apply_override(raw, override.keys, override.value, override.label)
        return validate(raw, source=self.path.name, overrides=[*self.overrides, *extra])


def read_source(
    spec: str | os.PathLike[str] | None = None,
    overrides: Sequence[str] | Mapping[str, Any] = (),
) -> Source:
    """Read a config (path or shipped handout name) and apply ``overrides``, unvalidated."""
    path = resolve_path(spec)
    raw = read_toml(path)
    parsed = overrides_from(overrides)
    for override in parsed:
        apply_override(raw, override.keys, override.value)
    return Source(path, raw, parsed)


def load(
    spec: str | os.PathLike[str] | None = None,
    overrides: Sequence[str] | Mapping[str, Any] = (),
) -> Config:
    """Read, override and validate a config given as a path or shipped handout name.

    ``overrides`` are ``--set`` texts (``"runs.0.learning_rate=0.3"``) or a mapping of
    dotted keys to values (``{"runs.0.learning_rate": 0.3}``).
    """
    source = read_source(spec, overrides)
    return validate(source.raw, source=source.path.name,
                    overrides=source.overrides).named(source.path.stem)


def config_name(spec: str | os.PathLike[str] | None) -> str:
    """The handout's name: the shipped name or the TOML file's stem."""
    return resolve_path(spec).stem


def dump_toml(config: Config) -> str:
    """The normalised config as TOML (embedded in reports so they can be re-derived)."""
    return _to_toml(config.normalised())


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _toml_string(text: str) -> str:
    """A TOML basic string; unlike JSON, never a surrogate pair (TOML rejects those)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(
        f"\\u{ord(char):04x}" if ord(char) < 0x20 or ord(char) == 0x7F else char
        for char in escaped
    ) + '"'


def _to_toml(data: Mapping[str, Any]) -> str:
    lines: list[str] = []
    tables: list[str] = []
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, dict):
            tables.append(f"\n[{key}]\n" + _to_toml(value))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                tables.append(f"\n[[{key}]]\n" + _to_toml(item))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + ("\n" if lines else "") + "".join(tables)
