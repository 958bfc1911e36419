"""Checks across the config's sections: unique exercise ids, the batch matrix's shape, batch
sizes within the data, and the work of a build within the limits.

Each raises a ``FieldError`` naming the field to blame, so the message points at it (and
at the fields it follows from) rather than at the whole config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reportgen.config.course_mode import KIND_PARAMETERS, MATRIX_MODES, ExerciseConfig
from reportgen.config.errors import FieldError
from reportgen.config.limits import MAX_SAMPLE_STEPS, MAX_SHUFFLED, MAX_STEPS, MAX_SWEEP_STEPS
from reportgen.config.sections import RunConfig, SweepConfig, batch_size
from reportgen.config.spelling import show


def check_exercise_ids(exercises: Sequence[ExerciseConfig]) -> None:
    """No two exercises share an id (it names a PDF form field and a CSV column)."""
    seen: set[str] = set()
    for index, exercise in enumerate(exercises):
        if exercise.id in seen:
            raise FieldError(f"exercises[{index}].id",
                             f"expected a unique id, got {exercise.id!r} twice")
        seen.add(exercise.id)


def check_exercise_kinds(exercises: Sequence[ExerciseConfig]) -> None:
    """Each exercise has the parameters its kind needs, and none of another kind's."""
    for index, exercise in enumerate(exercises):
        own = KIND_PARAMETERS[exercise.kind]
        for kind, names in KIND_PARAMETERS.items():
            for name in names:
                given = getattr(exercise, name)
                if name in own and given is None:
                    raise FieldError(f"exercises[{index}].{name}", f"expected a value with "
                                     f"kind = \"{exercise.kind}\"")
                if name not in own and name != "component" and given is not None:
                    raise FieldError(f"exercises[{index}].{name}", f"belongs to kind = "
                                     f"\"{kind}\", not to kind = \"{exercise.kind}\"")
        if exercise.options is not None and len(set(exercise.options)) < len(exercise.options):
            raise FieldError(f"exercises[{index}].options", "expected different learning "
                             f"rates, got {show(exercise.options)}")


def check_matrix(matrix: Mapping[str, Any] | None) -> None:
    """A batch matrix is a mode and non-empty arrays of values by dotted key."""
    for key, values in (matrix or {}).items():
        if key == "mode":
            if values not in MATRIX_MODES:
                raise FieldError("matrix.mode", f"expected \"product\" or \"zip\", "
                                 f"got {show(values)}")
        elif not isinstance(values, list) or not values:
            raise FieldError(f'matrix."{key}"', f"expected a non-empty array of values, "
                             f"got {show(values)}")


def check_batches_fit(runs: Sequence[RunConfig], n: int) -> None:
    """No run's batch is larger than the data."""
    for index, run in enumerate(runs):
        if run.batch_size is not None and run.batch_size > n:
            raise FieldError(
                f"runs[{index}].batch_size",
                f"expected 1..{n} (data.n), got {run.batch_size}",
                related=("data.n",),
            )


def check_work(runs: Sequence[RunConfig], n: int, sweep: SweepConfig | None) -> None:
    """Steps, shuffles, the sweep and the compute work stay within the limits."""
    steps = [run.epochs * -(-n // batch_size(run, n)) for run in runs]
    _check_steps(runs, steps)
    _check_shuffled(runs, n)
    sweep_steps = _sweep_steps(sweep)
    _check_samples(runs, steps, n, sweep_steps)


def _check_steps(runs: Sequence[RunConfig], steps: Sequence[int]) -> None:
    """Each run's update steps, and all runs' together, within ``MAX_STEPS``."""
    for index, (run, count) in enumerate(zip(runs, steps, strict=True)):
        per_epoch = count // run.epochs
        if count > MAX_STEPS:
            raise FieldError(
                f"runs[{index}].epochs",
                f"expected at most {MAX_STEPS} update steps (epochs x {per_epoch} "
                f"batch{'es' if per_epoch != 1 else ''} per epoch), got {count}",
                related=("data.n", f"runs[{index}].batch_size"),
            )
    if sum(steps) > MAX_STEPS:
        raise FieldError("runs", f"expected at most {MAX_STEPS} update steps in all runs "
                         f"together (results.json keeps each), got {sum(steps)}")


def _check_shuffled(runs: Sequence[RunConfig], n: int) -> None:
    """The mini-batch runs' shuffled index schedule within ``MAX_SHUFFLED``."""
    shuffled = sum(run.epochs * n for run in runs if batch_size(run, n) < n)
    if shuffled > MAX_SHUFFLED:
        raise FieldError("runs", f"expected epochs x data.n of the mini-batch runs at most "
                         f"{MAX_SHUFFLED:.0e} (each epoch shuffles all points), got "
                         f"{shuffled:.2e}", related=("data.n",))


def _sweep_steps(sweep: SweepConfig | None) -> int:
    """The sweep's learning rates x epochs (0 without a sweep), within ``MAX_SWEEP_STEPS``."""
    if sweep is None:
        return 0
    count = sweep.rate_count() * sweep.epochs
    if count > MAX_SWEEP_STEPS:
        raise FieldError("sweep", f"expected learning rates x epochs at most "
                         f"{MAX_SWEEP_STEPS:.0e}, got {count:.2e}")
    return count


def _check_samples(
    runs: Sequence[RunConfig], steps: Sequence[int], n: int, sweep_steps: int
) -> None:
    """The samples read by every update step within ``MAX_SAMPLE_STEPS``.

    A full-batch step reads every sample, a mini-batch step its batch (its full-data loss
    comes from the sufficient statistics), a sweep step none (statistics too).
    """
    runs_work = sum(count * batch_size(run, n) for run, count in zip(runs, steps, strict=True))
    work = runs_work + sweep_steps + n
    if work > MAX_SAMPLE_STEPS:
        field = "sweep" if sweep_steps > runs_work else "runs"
        raise FieldError(field, f"expected the samples read by every update step (steps x "
                         f"batch size, summed) at most {MAX_SAMPLE_STEPS:.0e}, got "
                         f"{work:.2e}", related=("data.n",))
