"""A batch's variants: the matrix, times one per student when a roster is given.

Per-student variants are checked against ``[students.constraints]`` on their computed
results; students whose draw fails are redrawn from their next child stream, all pending
students computed together, until every problem is fair or ``max_redraws`` is spent.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reportgen import pipeline
from reportgen.config import Config, ConfigError, Source, read_source, validate
from reportgen.course import matrix, students
from reportgen.store.results import check_exercises

Progress = Callable[[str], None]


#: Draws a student's next fair problem after ``variant`` (whose copy gave an answer away).
Redraw = Callable[[matrix.Variant], tuple[matrix.Variant, pipeline.Computed]]


@dataclass(frozen=True)
class Plan:
    """What a batch builds: its name, base config and variants, and the numbers of those
    already computed while planning (students' draws are checked on them), by variant id;
    for a roster, ``redraw`` gives a student their next fair problem."""

    name: str
    base: Config
    variants: list[matrix.Variant]
    computed: dict[str, pipeline.Computed] = field(default_factory=dict, repr=False)
    redraw: Redraw | None = field(default=None, repr=False)


def _silent(_stage: str) -> None:
    """A progress callback that shows nothing."""


def make_plan(
    spec: str | os.PathLike[str] | None,
    overrides: Sequence[str] | Mapping[str, Any] = (),
    matrix_options: Sequence[str] = (),
    *,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    progress: Progress = _silent,
) -> Plan:
    """Read a batch config and expand it into variants (students drawn and checked).

    Raises:
      ConfigError: a bad config, matrix entry, roster or unsatisfiable constraint.
    """
    source = read_source(spec, overrides)
    base = validate(source.raw, source=source.path.name,
                    overrides=source.overrides).named(source.path.stem)
    if base.exercises:  # before any student is drawn: what no copy could keep secret
        check_exercises(base)
    variants = matrix.expand(source, base, matrix_options)
    if base.students is None:
        return Plan(base.name, base, variants)
    computed: dict[str, pipeline.Computed] = {}
    combos = variants
    variants = _per_student(source, base, combos, computed, cache_dir=cache_dir,
                            use_cache=use_cache, progress=progress)

    def redraw(variant: matrix.Variant) -> tuple[matrix.Variant, pipeline.Computed]:
        return _redraw(source, base, combos, variant, cache_dir=cache_dir,
                       use_cache=use_cache)

    return Plan(base.name, base, variants, computed, redraw)


def _per_student(
    source: Source,
    base: Config,
    combos: list[matrix.Variant],
    computed: dict[str, pipeline.Computed],
    *,
    cache_dir: Path | None,
    use_cache: bool,
    progress: Progress,
) -> list[matrix.Variant]:
    """Every student's variant of every combination, redrawn until fair; each accepted
    variant's numbers are put in ``computed``."""
    settings = base.students
    assert settings is not None
    students.check_ranges(settings)
    roster = students.read_roster(source.path.parent / settings.roster)
    salt = students.read_salt(settings, source.path.parent)
    if len(roster) * len(combos) > matrix.MAX_VARIANTS:
        raise ConfigError(f"students: expected at most {matrix.MAX_VARIANTS} variants, got "
                          f"{len(roster)} students x {len(combos)} combinations")
    pending = [(student, combo) for student in roster for combo in combos]
    accepted = _draw(source, settings, salt, pending, dict.fromkeys(range(len(pending)), 0),
                     computed, cache_dir=cache_dir, use_cache=use_cache, progress=progress)
    return [accepted[index] for index in range(len(pending))]


def _redraw(source: Source, base: Config, combos: list[matrix.Variant],
            variant: matrix.Variant, *, cache_dir: Path | None,
            use_cache: bool) -> tuple[matrix.Variant, pipeline.Computed]:
    """A student's next fair problem after ``variant`` (drawn from the next attempts)."""
    settings = base.students
    assert settings is not None and variant.student is not None
    combo = next(c for c in combos if all(variant.values.get(key) == value
                                          for key, value in c.values.items()))
    salt = students.read_salt(settings, source.path.parent)
    computed: dict[str, pipeline.Computed] = {}
    accepted = _draw(source, settings, salt, [(variant.student, combo)],
                     {0: variant.redraws + 1}, computed, cache_dir=cache_dir,
                     use_cache=use_cache, progress=_silent)
    return accepted[0], computed[accepted[0].id]


def _draw(
    source: Source,
    settings: Any,
    salt: str,
    pending: list[tuple[Any, matrix.Variant]],
    attempts: dict[int, int],
    computed: dict[str, pipeline.Computed],
    *,
    cache_dir: Path | None,
    use_cache: bool,
    progress: Progress,
) -> dict[int, matrix.Variant]:
    """Draw each pending (student, combination) from its attempt on until fair; the
    accepted variants by index, their numbers put in ``computed``."""
    accepted: dict[int, matrix.Variant] = {}
    limit = settings.constraints.max_redraws
    while attempts:
        progress(f"drawing {len(attempts)} student problem(s)")
        candidates = {index: _candidate(source, settings, *pending[index], attempt, salt)
                      for index, attempt in attempts.items()}
        outcomes = pipeline.compute_many([v.config for v in candidates.values()],
                                         cache_dir=cache_dir, use_cache=use_cache)
        for (index, variant), outcome in zip(candidates.items(), outcomes, strict=True):
            broken = students.violations(settings.constraints, outcome.results)
            if not broken:
                accepted[index] = replace(variant, redraws=attempts.pop(index))
                computed[variant.id] = outcome
            elif attempts[index] >= limit:
                student = pending[index][0]
                raise ConfigError(
                    f"students.constraints: no fair problem for student {student.id!r} in "
                    f"{limit + 1} draws (last: {'; '.join(broken)}); widen the ranges or "
                    f"the constraints, or raise max_redraws")
            else:
                attempts[index] += 1
    return accepted


def _candidate(
    source: Source,
    settings: Any,
    student: Any,
    combo: matrix.Variant,
    attempt: int,
    salt: str,
) -> matrix.Variant:
    drawn = students.draw(settings, student, attempt, salt)
    extra = [*combo.overrides, *students.overrides(student, drawn)]
    config = source.with_overrides(extra).named(combo.config.name)
    values = {**combo.values, **drawn}
    prefix = matrix.slug({"student": student.id})
    return matrix.Variant(matrix.variant_id(combo.values, config, prefix=prefix), values,
                          config, student, attempt, tuple(extra))
