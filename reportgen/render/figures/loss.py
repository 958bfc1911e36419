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
    OLS_COLOUR,
    TEXT_WIDTH_IN,
    Drawn,
    plain_log_axis,
    run_label,
    run_style,
)
from reportgen.render.format import fmt_num
from reportgen.store.results import Results


def _loss_ceiling(results: Results) -> float:
    tops = []
    for run in results.runs:
        losses = losses_of(run)
        if len(losses) and np.isfinite(losses[0]):
            tops.append(losses[0])
    top = max(tops) if tops else 1e3
    return float(top * 20)


def draw_loss(results: Results) -> Drawn:
    """Every run's loss per step against the OLS floor, and its excess over it."""
    fig = Figure(figsize=(TEXT_WIDTH_IN, 2.7))
    ax, ax2 = fig.subplots(1, 2)
    floor = float(results.ols.loss)
    ceiling = _loss_ceiling(results)
    lowest_gap = np.inf
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
        ax2.plot(steps[view], gap[view], color=style["color"], linestyle=style["linestyle"],
                 marker=style["marker"], markevery=every, markersize=3.2)
        if run.diverged:
            # where the final climb began: from this step on the loss stays out of bounds
            k = len(losses) - 1 if run.diverged_step is None else run.diverged_step
            last = last_finite(shown[: k + 1].reshape(-1, 1))
            if last is not None:
                for a, val in ((ax, shown[last]), (ax2, gap[last])):
                    if np.isfinite(val):
                        a.plot([last], [val], marker="x", color=style["color"], markersize=8,
                               markeredgewidth=2, linestyle="none", zorder=5)
    ax.axhline(floor, color=OLS_COLOUR, linewidth=1, linestyle=(0, (1, 1)),
               label=f"OLS minimum L* = {fmt_num(floor)}")
    for a in (ax, ax2):
        a.set_yscale("log")
        plain_log_axis(a.yaxis)  # plain labels: no exponents smaller than the tick labels
        a.xaxis.set_major_locator(MaxNLocator(6, integer=True))
    ax.set_xlabel("update step")
    ax2.set_xlabel("update step")
    ax.set_ylabel("loss L(θ) (full data)")
    ax2.set_ylabel("excess loss L(θ) − L*")
    ax.set_title("Loss, with the OLS floor")
    ax2.set_title("Excess loss above the floor")
    if np.isfinite(lowest_gap):
        ax2.set_ylim(bottom=max(lowest_gap / 3, 1e-16))
    handles, labels = ax.get_legend_handles_labels()
    if any(r.diverged for r in results.runs):
        handles.append(Line2D([], [], marker="x", color="#444", linestyle="none", markersize=7,
                              markeredgewidth=2))
        labels.append("divergence begins (loss leaves the bounds for good)")
    ncol = 2 if len(labels) > 3 else len(labels)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, bbox_to_anchor=(0.5, 0.0))
    rows = math.ceil(len(labels) / ncol)
    fig.tight_layout(rect=(0, 0.07 * rows + 0.02, 1, 1))
    fig.set_figheight(2.7 + 0.2 * rows)
    names = ", ".join(r.name for r in results.runs)
    diverged = [r.name for r in results.runs if r.diverged]
    falling = "falling towards" if not diverged else "of each run against"
    alt = (f"Two line charts of the full-data loss against the update step on a logarithmic "
           f"axis for {names}; the left one shows the loss {falling} the dotted OLS minimum "
           f"{fmt_num(floor)}, the right one the excess over it."
           + (f" {' and '.join(diverged)} climbs away instead; a cross marks where its "
              f"divergence began." if diverged else ""))
    caption = (f"Loss per update step of every run, on a logarithmic axis. Left: the loss and "
               f"its floor, the OLS minimum L* = {fmt_num(floor)}. Right: the excess L − L*, in "
               f"which steady (linear) convergence shows as a straight line"
               + (f"; a cross marks the step from which a run’s loss stayed above "
                  f"{theory.DIVERGENCE_FACTOR:g} times its start (where divergence began)."
                  if diverged else "."))
    return Drawn(fig, alt, caption)
