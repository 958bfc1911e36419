"""A batch's variants: the matrix, times one per student when a roster is given.

Planning is two steps. ``outline`` reads and checks everything that costs no compute (the
config, the matrix, the roster, the ranges), so a batch can refuse bad input before it
works. ``draw`` gives each student their problem: per-student variants are checked
against ``[students.constraints]`` on their computed results, and a student whose draw
fails is redrawn from their next child stream, all pending students computed together,
until every problem is fair.

The redraws are bounded for the whole batch, not only per student (``max_redraws``): a
batch computes at most ``draw_budget`` candidate problems. The first round computes a
sample of at least ``SAMPLE_DRAWS`` candidates (several attempts per student when the
roster is small); when none of them holds, or when the share that holds says the budget
cannot be enough, the batch stops at once with one line instead of drawing for minutes.
Only accepted problems are cached; a rejected draw is computed, judged and dropped.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from reportgen import pipeline
from reportgen.config import Config, ConfigError, Source, StudentConfig, read_source, validate
from reportgen.course import matrix, students
from reportgen.store.student import check_exercises

Progress = Callable[[str], None]
#: Candidates the first round of draws computes at least (when the constraints allow that
#: many attempts): enough to tell constraints that (almost) never hold before drawing on.
SAMPLE_DRAWS = 64
#: The most candidate problems a batch computes: this many per variant, and at least
#: ``MIN_DRAW_BUDGET`` (each is a full computation of a handout's numbers).
DRAWS_PER_VARIANT = 10
MIN_DRAW_BUDGET = 1_000
#: Draws a student's next fair problem after ``variant`` (whose copy gave an answer away).
Redraw = Callable[[matrix.Variant], tuple[matrix.Variant, pipeline.Computed]]


@dataclass(frozen=True)
class Plan:
    """What a batch builds: its name, base config and variants, and the numbers of those
    already computed while planning (students' draws are checked on them), by variant id."""

    name: str
    base: Config
    variants: list[matrix.Variant]
    computed: dict[str, pipeline.Computed] = field(default_factory=dict, repr=False)
    redraw: Redraw | None = field(default=None, repr=False)


class Outline(NamedTuple):
    """A batch config read and checked, before any student is drawn: its source, base
    config, matrix combinations and roster (None without ``[students]``)."""

    source: Source
    base: Config
    combos: list[matrix.Variant]
    roster: list[StudentConfig] | None
    salt: str | None = None

    @property
    def name(self) -> str:
        """The batch's name: the config's."""
        return self.base.name


def _silent(_stage: str) -> None:
    """A progress callback that shows nothing."""


def outline(
    spec: str | os.PathLike[str] | None,
    overrides: Sequence[str] | Mapping[str, Any] = (),
    matrix_options: Sequence[str] = (),
) -> Outline:
    """Read a batch config, its matrix and its roster; nothing is computed.

    Raises:
      ConfigError: a bad config, matrix entry, roster or range.
    """
    source = read_source(spec, overrides)
    base = validate(source.raw, source=source.path.name,
                    overrides=source.overrides).named(source.path.stem)
    if base.exercises:  # before any student is drawn: what no copy could keep secret
        check_exercises(base)
    combos = matrix.expand(source, base, matrix_options)
    settings = base.students
    if settings is None:
        return Outline(source, base, combos, None)
    students.check_ranges(settings)
    roster = students.read_roster(source.path.parent / settings.roster)
    salt = students.read_salt(settings, source.path.parent)
    if len(roster) * len(combos) > matrix.MAX_VARIANTS:
        raise ConfigError(f"students: expected at most {matrix.MAX_VARIANTS} variants, got "
                          f"{len(roster)} students x {len(combos)} combinations")
    return Outline(source, base, combos, roster, salt)


def draw(
    outlined: Outline,
    *,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    progress: Progress = _silent,
) -> Plan:
    """The batch's variants, each student's problem drawn and checked.

    Raises:
      ConfigError: constraints that no draw (or too few draws) satisfies.
    """
    source, base, combos, roster, salt = outlined
    settings = base.students
    if roster is None or salt is None or settings is None:
        return Plan(base.name, base, combos)
    computed: dict[str, pipeline.Computed] = {}
    pending = [(student, combo) for student in roster for combo in combos]
    accepted = _draw(source, settings, salt, pending, dict.fromkeys(range(len(pending)), 0),
                     computed, cache_dir=cache_dir, use_cache=use_cache, progress=progress)

    def redraw(variant: matrix.Variant) -> tuple[matrix.Variant, pipeline.Computed]:
        """The student's next fair problem after ``variant``."""
        assert settings is not None and salt is not None and variant.student is not None
        combo = next(c for c in combos if all(variant.values.get(key) == value
                                              for key, value in c.values.items()))
        mine: dict[str, pipeline.Computed] = {}
        again = _draw(source, settings, salt, [(variant.student, combo)],
                      {0: variant.redraws + 1}, mine, cache_dir=cache_dir,
                      use_cache=use_cache, progress=_silent)
        return again[0], mine[again[0].id]

    variants = [accepted[index] for index in range(len(pending))]
    return Plan(base.name, base, variants, computed, redraw)


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
    return draw(outline(spec, overrides, matrix_options), cache_dir=cache_dir,
                use_cache=use_cache, progress=progress)


def draw_budget(variants: int) -> int:
    """The most candidate problems a batch of ``variants`` per-student variants computes."""
    return max(MIN_DRAW_BUDGET, DRAWS_PER_VARIANT * variants)


def _draw(
    source: Source,
    settings: Any,
    salt: str,
    pending: list[tuple[StudentConfig, matrix.Variant]],
    first_attempt: dict[int, int],
    computed: dict[str, pipeline.Computed],
    *,
    cache_dir: Path | None,
    use_cache: bool,
    progress: Progress,
) -> dict[int, matrix.Variant]:
    """Draw each pending (student, combination), from its first attempt on, until fair;
    the accepted variants by index, their numbers put in ``computed`` (and cached;
    rejected draws never are)."""
    constraints = settings.constraints
    constrained = bool(constraints.condition_number or constraints.max_stable_lr
                       or constraints.no_divergence)
    limit = constraints.max_redraws
    budget = draw_budget(len(pending)) if constrained else len(pending)
    next_attempt = dict(first_attempt)  # of the students still open
    accepted: dict[int, matrix.Variant] = {}
    drawn = held = 0
    last_broken: list[str] = []
    broken_of: dict[int, list[str]] = {}
    while next_attempt:
        each = max(1, math.ceil(SAMPLE_DRAWS / len(next_attempt))) if constrained else 1
        each = min(each, max(1, (budget - drawn) // len(next_attempt)))
        if drawn + len(next_attempt) > budget:
            raise ConfigError(
                f"students.constraints: {drawn} draws computed (the most this batch of "
                f"{len(pending)} variants may compute: {budget}) and {len(next_attempt)} "
                f"student(s) still have no fair problem (last: {'; '.join(last_broken)}); "
                "widen the ranges or the constraints")
        progress(f"drawing {len(next_attempt)} student problem(s)")
        candidates = [(index, _candidate(source, settings, *pending[index], attempt, salt))
                      for index, first in next_attempt.items()
                      for attempt in range(first, min(first + each, limit + 1))]
        outcomes = pipeline.compute_many([v.config for _, v in candidates],
                                         cache_dir=cache_dir, use_cache=use_cache, store=False)
        drawn += len(candidates)
        for (index, variant), outcome in zip(candidates, outcomes, strict=True):
            broken = students.violations(constraints, outcome.results)
            held += not broken
            if broken:
                last_broken = broken_of[index] = broken
            elif index in next_attempt:  # the student's first draw that holds
                del next_attempt[index]
                accepted[index] = variant  # its redraws: the attempt's number
                computed[variant.id] = outcome
                if use_cache:
                    pipeline.remember(variant.config, outcome, cache_dir=cache_dir)
        for index in next_attempt:
            next_attempt[index] += each
            if next_attempt[index] > limit:
                student = pending[index][0]
                raise ConfigError(
                    f"students.constraints: no fair problem for student {student.id!r} in "
                    f"{limit + 1} draws (last: {'; '.join(broken_of[index])}); widen the ranges or "
                    f"the constraints, or raise max_redraws")
        _judge_sample(drawn, held, len(next_attempt), budget, last_broken)
    return accepted


def _judge_sample(drawn: int, held: int, still_open: int, budget: int,
                  last_broken: list[str]) -> None:
    """Stop at once when the draws so far say the constraints will not be met in budget.

    Raises:
      ConfigError: none of at least ``SAMPLE_DRAWS`` draws held, or the share that held
        says the students still open need more draws than the budget has left.
    """
    if not still_open:
        return
    if held == 0 and drawn >= SAMPLE_DRAWS:
        raise ConfigError(
            f"students.constraints: none of the first {drawn} draws holds (last: "
            f"{'; '.join(last_broken)}); the constraints look unsatisfiable with these "
            "ranges: widen [students.ranges] or the constraints")
    if held and still_open * drawn / held > budget - drawn:
        raise ConfigError(
            f"students.constraints: only {held} of {drawn} draws hold; the {still_open} "
            f"student(s) still open would need about {math.ceil(still_open * drawn / held)} "
            f"more draws, over the {budget - drawn} this batch may still compute (at most "
            f"{budget}); widen the ranges or the constraints")


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
