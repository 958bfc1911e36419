"""What a claim is, the registry that names every one, and the geometry they share."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from reportgen.store.results import Results, Run

#: A claim's arguments: plain JSON values (a run's index, a rate), never a record.
Args = Mapping[str, int | float | str]


@dataclass(frozen=True)
class Claim:
    """A sentence about the numbers and the verdict it rests on.

    Attributes:
      name: the registry's name of the claim.
      args: its plain arguments (which run, which rate).
      holds: the condition's verdict; None where the copy withholds what it depends on
        (the sentence then says so, and asserts nothing it cannot check).
      text: the sentence true for these numbers: the one for the condition when it holds,
        the one that is true otherwise when it does not. Plain text: ``λ_min`` is written
        with an underscore (the renderer sets the subscript). Empty: nothing to say.
      short: the same fact in a few words, for a table cell or a list (defaults to text).
      kind: which of several sentences was chosen, where a claim has more than two (a
        path that starts near the floor, heads straight for theta*, ...); empty otherwise.
    """

    name: str
    args: Args
    holds: bool | None
    text: str
    short: str = field(default="")
    kind: str = ""

    def __post_init__(self) -> None:
        if self.holds is not None:  # a plain bool, never numpy's (it is written as JSON)
            object.__setattr__(self, "holds", bool(self.holds))
        if not self.short:
            object.__setattr__(self, "short", self.text)


ClaimFunction = Callable[..., Claim]
#: Which argument sets a claim applies to in a results value.
Instances = Callable[[Results], list[Args]]


class Entry(NamedTuple):
    """A registered claim: the function and where it applies."""

    function: ClaimFunction
    instances: Instances


#: Every claim by name (filled by the ``@claim`` decorator as the modules are imported).
REGISTRY: dict[str, Entry] = {}


def _once(_results: Results) -> list[Args]:
    return [{}]


def claim(instances: Instances = _once) -> Callable[[ClaimFunction], ClaimFunction]:
    """Register a claim function under its own name; ``instances`` lists the argument sets
    it applies to in a results value (once, with no arguments, by default)."""

    def register(function: ClaimFunction) -> ClaimFunction:
        name = function.__name__
        if name in REGISTRY:  # pragma: no cover - a name is one claim
            raise AssertionError(f"claim {name!r} registered twice")
        REGISTRY[name] = Entry(function, instances)
        return function

    return register


def evaluate(results: Results, name: str, args: Args | None = None) -> Claim:
    """The claim ``name`` with ``args`` on ``results``.

    Raises:
      KeyError: no claim has that name.
      TypeError, IndexError: arguments the claim does not take (an unknown run).
    """
    return REGISTRY[name].function(results, **(args or {}))


def every_claim(results: Results) -> Iterator[Claim]:
    """Every registered claim at every argument set it applies to, in registry order."""
    for name, entry in REGISTRY.items():
        for args in entry.instances(results):
            yield evaluate(results, name, args)


# ---------------------------------------------------------------- argument sets


def each_run(results: Results) -> list[Args]:
    return [{"run": index} for index in range(len(results.runs))]


def runs_where(test: Callable[[Results, Run], bool]) -> Instances:
    """The runs for which ``test(results, run)`` holds, as argument sets."""

    def instances(results: Results) -> list[Args]:
        return [{"run": index} for index, run in enumerate(results.runs) if test(results, run)]

    return instances


def is_full_gd(_results: Results, run: Run) -> bool:
    return run.optimizer == "gd" and run.full_batch


def is_minibatch(_results: Results, run: Run) -> bool:
    return not run.full_batch


# ---------------------------------------------------------------- shared facts

#: A relative difference at most this large is "the same to the digits shown".
SAME = 5e-4
#: A run has converged when every component of its error is below this share of its start.
CONVERGED_SHARE = 0.01
#: A loss "rose" at a step when it grew by more than this share of itself and by more than
#: ROUNDING_RISE x the starting loss (rounding is not a rise: a loss near 0, or computed from
#: sufficient statistics, carries an absolute error of about 1e-16 x its scale).
RISE = 1e-9
ROUNDING_RISE = 1e-12


def optimum(results: Results) -> np.ndarray | None:
    """theta*, or None where the copy withholds it."""
    theta = results.ols.theta
    return None if theta is None else np.asarray(theta, dtype=np.float64)


class Valley(NamedTuple):
    """The Hessian's eigen-decomposition: ascending eigenvalues, unit eigenvectors as
    columns (floor first, then across). Read from the Hessian itself, so verdicts work in
    a copy that withholds the eigenvalues; no sentence prints them from here."""

    low: float
    high: float
    floor: np.ndarray
    across: np.ndarray


def valley(results: Results) -> Valley:
    values, vectors = np.linalg.eigh(np.asarray(results.diagnostics.hessian, dtype=np.float64))
    return Valley(float(values[0]), float(values[-1]), vectors[:, 0], vectors[:, -1])


def components(results: Results, thetas: np.ndarray) -> np.ndarray | None:
    """The error theta - theta* of each row along (floor, across); None without theta*."""
    star = optimum(results)
    if star is None:
        return None
    shape = valley(results)
    errors = np.asarray(thetas, dtype=np.float64) - star
    return np.stack([errors @ shape.floor, errors @ shape.across], axis=-1)


def rises(losses: np.ndarray) -> list[int]:
    """The steps (1-based) at which a loss rose by more than rounding."""
    found = []
    floor = ROUNDING_RISE * abs(float(losses[0])) if math.isfinite(losses[0]) else 0.0
    for step in range(1, len(losses)):
        before, after = float(losses[step - 1]), float(losses[step])
        if math.isfinite(before) and math.isfinite(after) and \
                after - before > max(RISE * abs(before), floor):
            found.append(step)
    return found


def first_nonfinite(losses: np.ndarray) -> int | None:
    """The first step whose loss is not finite (the run overflowed), or None."""
    bad = np.flatnonzero(~np.isfinite(np.asarray(losses, dtype=np.float64)))
    return int(bad[0]) if bad.size else None


def exercise_asking(results: Results, path: str) -> int | None:
    """The number of the exercise whose answer is ``path`` (or a part of it), if any."""
    for number, exercise in enumerate(results.config.exercises, start=1):
        answer = exercise.answer
        if answer is not None and (answer == path or answer.startswith(path + ".")):
            return number
    return None


def withheld_words(results: Results, path: str) -> str:
    """How a sentence names a value this copy does not show: 'which Exercise 2 asks for'.

    A student view records the exercise each withheld field would answer
    (``Results.withheld``, its label: 'Exercise 2'); elsewhere the exercise whose answer
    is ``path`` names it.
    """
    for withheld, label in (results.withheld or {}).items():
        if withheld == path or withheld.startswith(path + ".") or path.startswith(withheld + "."):
            return f"which {label} asks for"
    number = exercise_asking(results, path)
    return f"which Exercise {number} asks for" if number else "not shown in this copy"


def name_of(run: Run) -> str:
    """A run's name in a sentence, quoted."""
    return f"“{run.name}”"


def plain(value: Any) -> Any:
    """A numpy scalar as a Python number (claim arguments are plain JSON)."""
    return value.item() if isinstance(value, np.generic) else value
