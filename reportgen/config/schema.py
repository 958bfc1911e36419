"""The handout config as one validated, frozen pydantic model: ``Config``.

Its sections are defined in ``sections`` (numbers) and ``course_mode`` (exercises and
students), the checks across sections in ``checks``. ``normalised()`` is what results.json
records and ``numbers()`` what decides the numbers (the compute cache's key).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Literal

from pydantic import Field, PrivateAttr, StrictInt, model_validator

from reportgen.config import checks
from reportgen.config.course_mode import (
    ExerciseConfig,
    StudentConfig,
    StudentsConfig,
)
from reportgen.config.fields import StrictModel, Title
from reportgen.config.limits import DEFAULT_DATE, DEFAULT_NAME, MAX_RUNS
from reportgen.config.sections import (
    DataConfig,
    PdfConfig,
    RunConfig,
    SurfaceConfig,
    SweepConfig,
    batch_size,
)

#: Config fields that change how a handout reads, never its numbers (nor do run names).
PRESENTATION_FIELDS = ("title", "author", "date", "paper", "audience", "student", "exercises")


class Config(StrictModel):
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

    # The checks across sections, in this order: the first that fails is reported.
    @model_validator(mode="after")
    def _exercise_ids_unique(self) -> Config:
        checks.check_exercise_ids(self.exercises)
        return self

    @model_validator(mode="after")
    def _exercise_kinds(self) -> Config:
        checks.check_exercise_kinds(self.exercises)
        return self

    @model_validator(mode="after")
    def _matrix_is_lists(self) -> Config:
        checks.check_matrix(self.matrix)
        return self

    @model_validator(mode="after")
    def _batches_fit_the_data(self) -> Config:
        checks.check_batches_fit(self.runs, self.data.n)
        return self

    @model_validator(mode="after")
    def _work_is_bounded(self) -> Config:
        checks.check_work(self.runs, self.data.n, self.sweep)
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
        return batch_size(run, self.data.n)

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

    def digest(self) -> str:
        """sha256 of the normalised config, as canonical JSON."""
        return sha256_json(self.normalised())

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
        return sha256_json(self.numbers())


def sha256_json(data: Any) -> str:
    """sha256 of ``data`` as canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
