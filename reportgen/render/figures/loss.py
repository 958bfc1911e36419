"""The loss of every run per step, against the OLS floor."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from reportgen import theory
from reportgen.render.figures.reading import drawn_steps, last_finite, losses_of
from reportgen.render.figures.style import (
    LOSS,
    LOSS_MIN,
    OLS_COLOUR,
    TEXT_WIDTH_IN,
    Drawn,
    plain_log_axis,
    run_label,
    run_style,
)
from reportgen.render.format import fmt_factor, fmt_num, in_sentence
from reportgen.store.results import Results


def _loss_ceiling(results: Results) -> float:
    tops = []
    for run in results.runs:
        losses = losses_of(run)
        if len(losses) and np.isfinite(losses[0]):
            tops.append(losses[0])
    top = max(tops) if tops else 1e3
    return float(top * 20)


#: The share of its steps at the end of a run over which "a straight line" is checked.
STRAIGHT_SHARE = 0.5
#: How far each step's factor may stray from their mean (relative, on the log scale) for
#: the excess still to count as a straight line on the log axis.
STRAIGHT_TOLERANCE = 0.1


def straight_tail(excess: np.ndarray, share: float = STRAIGHT_SHARE,
                  tolerance: float = STRAIGHT_TOLERANCE) -> float | None:
    """The constant factor per step by which ``excess`` falls over its last ``share`` of
    steps, if it does (a straight falling line on a log axis); else None.

    Every step's factor ``e[k+1] / e[k]`` over that stretch must be below 1 and within
    ``tolerance`` of their geometric mean on the log scale.
    """
    values = np.asarray(excess, dtype=float)
    tail = values[int(len(values) * (1 - share)):]
    if len(tail) < 3 or not np.all(np.isfinite(tail)) or np.any(tail <= 0):
        return None
    logs = np.diff(np.log(tail))
    mean = float(np.mean(logs))
    if mean >= 0 or np.any(np.abs(logs - mean) > tolerance * abs(mean)):
        return None
    return math.exp(mean)


def _rises_throughout(losses: np.ndarray) -> bool:
    finite = losses[np.isfinite(losses)]
    return len(finite) > 1 and bool(np.all(np.diff(finite) > 0))


def draw_loss(results: Results, width: float = TEXT_WIDTH_IN) -> Drawn:
    """Every run's loss per step against the OLS floor, and its excess over it (side by
    side, or one above the other on a phone)."""
    narrow = width < TEXT_WIDTH_IN
    fig = Figure(figsize=(width, 2.7 if not narrow else 4.6))
    ax, ax2 = fig.subplots(1, 2) if not narrow else fig.subplots(2, 1)
    floor = float(results.ols.loss)
    ceiling = _loss_ceiling(results)
    lowest_gap = np.inf
    straight: list[tuple[str, float]] = []
    for i, run in enumerate(results.runs):
        style = run_style(i)
        losses = losses_of(run)
        losses[~np.isfinite(losses)] = np.nan
        steps = np.arange(len(losses))
        drawn = drawn_steps(run, losses)
        view = slice(None) if drawn is None else drawn
        every = max(1, len(steps[view]) // 12)
        shown = np.where(losses > ceiling, np.nan, losses)
        ax.plot(steps[view], shown[view], color=style["color"], linestyle=style["linestyle"],
                marker=style["marker"], markevery=every, markersize=3.2, label=run_label(run))
        gap = np.where(losses > ceiling, np.nan, losses - floor)
        gap[gap <= 0] = np.nan
        if np.any(np.isfinite(gap)):
            lowest_gap = min(lowest_gap, float(np.nanmin(gap)))
        factor = None if run.diverged else straight_tail(losses - floor)
        if factor is not None:
            straight.append((run.name, factor))
        ax2.plot(steps[view], gap[view], color=style["color"], linestyle=style["linestyle"],
                 marker=style["marker"], markevery=every, markersize=3.2)
        if run.diverged:
            # from this step on the loss stays above DIVERGENCE_FACTOR times its start
            k = len(losses) - 1 if run.diverged_step is None else run.diverged_step
            last = last_finite(shown[: k + 1].reshape(-1, 1))
            if last is not None:
                for a, val in ((ax, shown[last]), (ax2, gap[last])):
                    if np.isfinite(val):
                        a.plot([last], [val], marker="x", color=style["color"], markersize=8,
                               markeredgewidth=2, linestyle="none", zorder=5)
    ax.axhline(floor, color=OLS_COLOUR, linewidth=1, linestyle=(0, (1, 1)),
               label=f"OLS minimum {LOSS_MIN} = {fmt_num(floor)}")
    for a in (ax, ax2):
        a.set_yscale("log")
        plain_log_axis(a.yaxis)  # plain labels: no exponents smaller than the tick labels
        a.xaxis.set_major_locator(MaxNLocator(6, integer=True))
    ax.set_xlabel("update step")
    ax2.set_xlabel("update step")
    ax.set_ylabel(f"loss {LOSS}(θ) (full data)")
    ax2.set_ylabel(f"excess loss {LOSS}(θ) − {LOSS_MIN}")
    ax.set_title("Loss, with the OLS floor")
    ax2.set_title("Excess loss above the floor")
    if np.isfinite(lowest_gap):
        ax2.set_ylim(bottom=max(lowest_gap / 3, 1e-16))
    handles, labels = ax.get_legend_handles_labels()
    far = f"loss above {theory.DIVERGENCE_FACTOR:g}× its start from here on"
    if any(r.diverged for r in results.runs):
        handles.append(Line2D([], [], marker="x", color="#444", linestyle="none", markersize=7,
                              markeredgewidth=2))
        labels.append(far)
    ncol = 1 if narrow else (2 if len(labels) > 3 else len(labels))
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol)
    rows = math.ceil(len(labels) / ncol)
    fig.set_figheight(fig.get_figheight() + 0.2 * rows)
    fig.set_layout_engine("constrained")
    names = ", ".join(r.name for r in results.runs)
    diverged = [r for r in results.runs if r.diverged]
    falling = "falling towards" if not diverged else "of each run against"
    climbs = []
    for run in diverged:
        how = ("rises at every step" if _rises_throughout(losses_of(run))
               else "climbs away")
        climbs.append(f"{run.name}’s loss {how}; a cross marks the step from which it stays "
                      f"above {theory.DIVERGENCE_FACTOR:g} times its start")
    alt = (f"Two line charts of the full-data loss against the update step on a logarithmic "
           f"axis for {names}; the {'left' if not narrow else 'upper'} one shows the loss "
           f"{falling} the dotted OLS minimum {fmt_num(floor)}, the "
           f"{'right' if not narrow else 'lower'} one the excess over it."
           + "".join(f" {c}." for c in climbs))
    caption = (f"Loss per update step of every run, on a logarithmic axis. "
               f"{'Left' if not narrow else 'Top'}: the loss and its floor, the OLS minimum "
               f"{LOSS_MIN} = {fmt_num(floor)}. {'Right' if not narrow else 'Bottom'}: the "
               f"excess {LOSS} − {LOSS_MIN}, where a constant factor per step would draw a "
               f"straight line; " + _straight_words(straight, len(results.runs))
               + (f" A cross marks the step from which a run’s loss stays above "
                  f"{theory.DIVERGENCE_FACTOR:g} times its start." if diverged else ""))
    return Drawn(fig, alt, caption)


def _straight_words(straight: list[tuple[str, float]], runs: int) -> str:
    """Which runs' excess is a straight line over the last half of their steps: the claim
    the caption makes, computed from the same losses the figure draws."""
    if not straight:
        return ("no run’s excess is straight over the last half of its steps: none has "
                "settled into a constant factor per step.")
    parts = [f"{in_sentence(name)} (a factor of {fmt_factor(factor)} per step)"
             for name, factor in straight]
    every = "every run’s excess is" if len(straight) == runs else (
        " and ".join(parts) + (" is" if len(parts) == 1 else " are"))
    if len(straight) == runs:
        return (f"{every} straight over the last half of its steps: "
                + ", ".join(parts) + ".")
    return f"{every} straight over the last half of {'its' if len(parts) == 1 else 'their'} steps."
