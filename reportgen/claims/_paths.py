"""Claims about the shape of a run: its path over the valley and its excess loss curve."""

from __future__ import annotations

import numpy as np

from reportgen import theory
from reportgen.claims._core import (
    CONVERGED_SHARE,
    Claim,
    claim,
    components,
    is_full_gd,
    runs_where,
    valley,
)
from reportgen.formatting import fmt_count, fmt_num, fmt_pct
from reportgen.store.results import Results, Run

#: A start is "close to the valley floor" when less than this share of its error lies
#: across the valley.
NEAR_FLOOR = 0.2
#: A path "heads straight for theta*" when it never strays more than this share of its
#: starting distance from the straight line to theta*.
STRAIGHT = 0.05
#: "Drops down the steep side": the error across the valley falls to this share of its
#: start while at least HALF of the error along the floor remains ...
DROPPED = 0.1
HALF = 0.5
#: ... and stays below this share of its start afterwards.
STAYS_DOWN = 0.2
#: The excess loss has reached rounding level below this share of J*.
ROUNDING = 1e-10


@claim(runs_where(lambda _r, run: not run.diverged and run.final_theta is not None))
def path_shape(results: Results, run: int) -> Claim:
    """The path drops down the steep side first and then crawls along the floor (holds);
    otherwise which of: starts near the floor, heads straight for theta*, curves."""
    record = results.runs[run]
    args = {"run": run}
    parts = components(results, record.thetas)
    if parts is None:
        return Claim("path_shape", args, None, "")
    along, across = np.abs(parts[:, 0]), np.abs(parts[:, 1])
    start = float(np.hypot(along[0], across[0]))
    if start == 0:
        return Claim("path_shape", args, False, "starts at θ* itself", kind="at-optimum")
    if across[0] < NEAR_FLOOR * start:
        stays = bool(np.max(across) <= NEAR_FLOOR * start)
        text = (f"starts close to the valley floor ({fmt_num(float(along[0]))} along it, "
                f"{fmt_num(float(across[0]))} across) and "
                + ("stays near it on its way to θ*" if stays else
                   "swings across the valley on its way to θ*"))
        return Claim("path_shape", args, False, text,
                     kind="near-floor" if stays else "near-floor-swings")
    direction = parts[0] / start  # the straight line from the start to theta* (the origin)
    offsets = np.abs(parts[:, 0] * direction[1] - parts[:, 1] * direction[0])
    if float(np.max(offsets)) <= STRAIGHT * start:
        return Claim("path_shape", args, False,
                     f"heads almost straight for θ*: it never strays more than "
                     f"{fmt_pct(float(np.max(offsets)) / start)} of its starting distance "
                     f"from the straight line", kind="straight")
    dropped = np.flatnonzero((across <= DROPPED * across[0]) & (along >= HALF * along[0]))
    if dropped.size:
        k = int(dropped[0])
        if float(np.max(across[k:])) <= STAYS_DOWN * across[0]:
            return Claim("path_shape", args, True,
                         f"drops down the steep side of the valley in its first "
                         f"{'step' if k == 1 else fmt_count(k, 'step')} (across the valley its "
                         f"error falls to "
                         f"{fmt_pct(float(across[k] / across[0]))} of the start, while "
                         f"{fmt_pct(float(along[k] / along[0]))} of the error along the floor "
                         f"remains), then crawls along the floor towards θ*",
                         kind="steep-then-floor")
    return Claim("path_shape", args, False,
                 "curves towards θ*, its error across the valley and along the floor "
                 "shrinking together", kind="curves")


def _stable_full_gd(results: Results, run: Run) -> bool:
    """A full-batch GD run at a rate below 2/λ_max that ended finite."""
    return (is_full_gd(results, run) and not run.diverged and run.final_theta is not None
            and run.learning_rate * valley(results).high < 2.0)


@claim(runs_where(_stable_full_gd))
def excess_straight(results: Results, run: int) -> Claim:
    """On a log axis the excess loss J - J* of a full-batch run is linear (a straight line)
    by the end: the faster-dying component's share of the excess is below 1% at the last step."""
    record = results.runs[run]
    args = {"run": run}
    parts = components(results, record.thetas)
    if parts is None:
        return Claim("excess_straight", args, None, "")
    shape = valley(results)
    curvatures = np.array([shape.low, shape.high])
    factors = np.abs(1.0 - record.learning_rate * curvatures)
    excess = 0.5 * parts**2 * curvatures  # per step, (floor, across) parts of J - J*
    total = excess.sum(axis=1)
    if factors[0] >= 1 or factors[1] >= 1:
        return Claim("excess_straight", args, None, "")
    if abs(factors[0] - factors[1]) <= 1e-9 * max(factors):
        text = ("both components shrink by the same factor at this rate, so it is linear "
                "from the start")
        return Claim("excess_straight", args, True, text, kind="balanced")
    faster = int(np.argmin(factors))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, excess[:, faster] / np.where(total > 0, total, 1), 0.0)
    steps = fmt_count(record.steps, "step")
    slow = float(np.max(factors))
    rounding = float(total[-1]) <= ROUNDING * max(results.ols.loss, 1e-300)
    tail = ("; by the end the excess is down at rounding level, where the line gives way to "
            "noise" if rounding else "")
    if share[-1] <= CONVERGED_SHARE:
        later = np.flatnonzero(share > CONVERGED_SHARE)
        since = int(later[-1]) + 1 if later.size else 0
        text = (f"it is linear from step {since} on, with slope "
                f"{fmt_num(theory.excess_loss_factor(slow))} per step{tail}")
        return Claim("excess_straight", args, True, text,
                     kind="straight-rounding" if rounding else "straight")
    text = (f"within these {steps} it is not linear yet: at the last step the faster-dying "
            f"component still makes up {fmt_pct(float(share[-1]))} of the excess")
    return Claim("excess_straight", args, False, text, kind="bent")
