"""The config's course-mode sections: exercises, who a copy is for, the roster and its draws."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import Field, StrictInt, field_validator, model_validator

from reportgen.config.errors import FieldError
from reportgen.config.fields import (
    BoundedPair,
    Finite,
    Pair,
    StrictModel,
    check_range,
    check_text,
)

#: Exercise ids name PDF form fields and CSV columns: short, plain, unambiguous.
EXERCISE_ID = r"^[A-Za-z][A-Za-z0-9_-]{0,39}$"
#: A dotted path into results.json: keys and list indices (``ols.theta.1``).
RESULTS_PATH = r"^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|[0-9]+))*$"
MATRIX_MODES = ("product", "zip")
#: What an exercise asks: a number of the results, gradient descent steps by hand, the steps
#: to reach a fraction of J*, or a choice among learning rates.
ExerciseKind = Literal["value", "gd-steps", "steps-to", "choice"]
EXERCISE_KINDS: tuple[str, ...] = get_args(ExerciseKind)
#: What a choice exercise asks of its rates.
ChoiceQuestion = Literal["diverges", "fastest"]
CHOICE_QUESTIONS: tuple[str, ...] = get_args(ChoiceQuestion)
#: The parameters each kind takes (and requires, but for those with a default).
KIND_PARAMETERS: dict[str, tuple[str, ...]] = {
    "value": ("answer",),
    "gd-steps": ("start", "learning_rate", "steps", "component"),
    "steps-to": ("start", "learning_rate", "fraction"),
    "choice": ("options", "question"),
}
#: The most steps a gd-steps exercise asks for (it is done by hand) and a steps-to answer
#: may reach.
MAX_EXERCISE_STEPS = 50
MAX_STEPS_TO = 100_000


class ExerciseConfig(StrictModel):
    """An exercise: its prompt, what it asks (its kind and parameters), how it is marked."""

    id: str = Field(pattern=EXERCISE_ID)
    """The exercise's name: its PDF form field and its answer-key column."""
    prompt: str = Field(min_length=1, max_length=4000)
    """The question (Jinja: may use the results, e.g. {{ data.n }})."""
    kind: ExerciseKind = "value"
    """value: a number of the results; gd-steps: theta after a few gradient descent steps,
    by hand; steps-to: the steps until J is within a fraction of J*; choice: which of a
    few learning rates diverges or is fastest."""
    answer: str | None = Field(None, pattern=RESULTS_PATH, max_length=200)
    """kind = "value": where the answer lives, a dotted path into results.json
    (diagnostics.max_stable_lr)."""
    start: BoundedPair | None = None
    """gd-steps, steps-to: the starting point theta(0) = [theta0, theta1]."""
    learning_rate: Finite | None = Field(None, gt=0.0, le=100.0)
    """gd-steps, steps-to: the learning rate of the steps."""
    steps: StrictInt | None = Field(None, ge=1, le=MAX_EXERCISE_STEPS)
    """gd-steps: how many steps (done by hand)."""
    component: StrictInt = Field(1, ge=0, le=1)
    """gd-steps: which parameter is asked for: 0 (intercept) or 1 (slope)."""
    fraction: Finite | None = Field(None, gt=0.0, lt=1.0)
    """steps-to: the first step k at which J(theta_k) <= (1 + fraction) J* is asked for."""
    options: list[Annotated[float, Field(gt=0.0, le=100.0, allow_inf_nan=False)]] | None = \
        Field(None, min_length=2, max_length=6)
    """choice: the learning rates on offer (labelled A, B, C, ...)."""
    question: ChoiceQuestion | None = None
    """choice: which rate diverges, or which converges fastest (full-batch gradient
    descent)."""
    tolerance: Finite = Field(0.001, gt=0.0, le=1.0)
    """Relative tolerance an answer is marked within (a choice is right or wrong)."""
    points: Finite = Field(1.0, gt=0.0, le=1000.0)
    """Points for a correct answer."""
    solution: str = Field("", max_length=8000)
    """The worked solution in instructor copies (Jinja, with answer); never in a student
    copy or its config."""


def option_letter(index: int) -> str:
    """A choice's label: A, B, C, ..."""
    return chr(ord("A") + index)


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


#: Where the students' salt is read from when the config names no salt file.
SALT_ENVIRONMENT = "REPORTGEN_SALT"


class StudentsConfig(StrictModel):
    """A handout per student: the roster, where the secret salt lives, per-student draws."""

    roster: str = Field(min_length=1)
    """A CSV with columns id,name (others ignored), relative to the config."""
    salt_file: str | None = Field(None, min_length=1, max_length=1000)
    """A file holding the secret salt (relative to the config; reportgen init writes a
    random one, git-ignored); else $REPORTGEN_SALT. Never the salt itself."""
    ranges: dict[str, Pair | list[Pair]] = Field(default_factory=dict)
    """Per-student values by dotted key, each drawn uniformly: [low, high] or a list of
    them."""
    constraints: ConstraintsConfig = ConstraintsConfig()
    """What every student's problem must satisfy (redrawn until it does)."""

    @model_validator(mode="before")
    @classmethod
    def _no_inline_salt(cls, data: Any) -> Any:
        if isinstance(data, dict) and "salt" in data:
            raise FieldError("students.salt", "the salt no longer lives in the config (whoever "
                             "reads it could rebuild every student's data): put it in a file "
                             "named by students.salt_file, relative to the config (reportgen "
                             "init DIR --from lab-course writes one), or in "
                             f"${SALT_ENVIRONMENT}; then delete salt")
        return data
