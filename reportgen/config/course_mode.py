"""The config's course-mode sections: exercises, who a copy is for, the roster and its draws."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt, field_validator

from reportgen.config.fields import Finite, Pair, StrictModel, check_range, check_text

#: Exercise ids name PDF form fields and CSV columns: short, plain, unambiguous.
EXERCISE_ID = r"^[A-Za-z][A-Za-z0-9_-]{0,39}$"
#: A dotted path into results.json: keys and list indices (``ols.theta.1``).
RESULTS_PATH = r"^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|[0-9]+))*$"
MATRIX_MODES = ("product", "zip")


class ExerciseConfig(StrictModel):
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


class StudentConfig(StrictModel):
    """Who a student's handout is for (set by ``reportgen batch`` from the roster)."""

    id: Annotated[str, check_text(64)] = Field(min_length=1, max_length=64)
    """The student's id (from the roster)."""
    name: Annotated[str, check_text(200)] = Field("", max_length=200)
    """The student's name (from the roster)."""


class ConstraintsConfig(StrictModel):
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
        lambda value: value if value is None else check_range(value)
    )


class StudentsConfig(StrictModel):
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
