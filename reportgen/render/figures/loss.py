"""The loss of every run per step, against the OLS floor."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, NullLocator

from reportgen.render.figures.reading import drawn_steps, last_finite, losses_of
from reportgen.render.figures.style import OLS_COLOUR, TEXT_WIDTH_IN, Drawn, run_label, run_style


def _loss_ceiling(results: dict[str, Any]) -> float:
    tops = []
    for run in results["runs"]:
        losses = losses_of(run)
        if len(losses) and np.isfinite(losses[0]):
            tops.append(losses[0])
    top = max(tops) if tops else 1e3
    return float(top * 20)


def draw_loss(results: dict[str, Any]) -> Drawn:
    """Every run's loss per step against the OLS floor, and its excess over it."""
    fig = Figure(figsize=(TEXT_WIDTH_IN, 2.7))
    ax, ax2 = fig.subplots(1, 2)
    floor = float(results["ols"]["loss"])
    ceiling = _loss_ceiling(results)
    lowest_gap = np.inf
    for i, run in enumerate(results["runs"]):
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
        if run.get("diverged"):
            k = run.get("diverged_step")
            k = len(losses) - 1 if k is None else int(k)
            last = last_finite(shown[: k + 1].reshape(-1, 1))
            if last is not None:
                for a, val in ((ax, shown[last]), (ax2, gap[last])):
                    if np.isfinite(val):
                        a.plot([last], [val], marker="x", color=style["color"], markersize=8,
                               markeredgewidth=2, linestyle="none", zorder=5)
    ax.axhline(floor, color=OLS_COLOUR, linewidth=1, linestyle=(0, (1, 1)),
               label=f"OLS minimum {floor:.3f}")
    for a in (ax, ax2):
        a.set_yscale("log")
        a.yaxis.set_minor_locator(NullLocator())  # minor log ticks cost more than they tell
        a.xaxis.set_major_locator(MaxNLocator(6, integer=True))
    ax.set_xlabel("update step")
    ax2.set_xlabel("update step")
    ax.set_ylabel("loss L(θ) (full data)")
    ax2.set_ylabel("excess loss L(θ) − L*")  # noqa: RUF001
    ax.set_title("Loss, with the OLS floor")
    ax2.set_title("Distance to the floor")
    if np.isfinite(lowest_gap):
        ax2.set_ylim(bottom=max(lowest_gap / 3, 1e-16))
    handles, labels = ax.get_legend_handles_labels()
    if any(r.get("diverged") for r in results["runs"]):
        handles.append(Line2D([], [], marker="x", color="#444", linestyle="none", markersize=7,
                              markeredgewidth=2))
        labels.append("diverged (last finite value)")
    ncol = 2 if len(labels) > 3 else len(labels)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, bbox_to_anchor=(0.5, 0.0))
    rows = math.ceil(len(labels) / ncol)
    fig.tight_layout(rect=(0, 0.07 * rows + 0.02, 1, 1))
    fig.set_figheight(2.7 + 0.2 * rows)
    names = ", ".join(r["name"] for r in results["runs"])
    alt = (f"Two line charts of the full-data loss against the update step on a logarithmic "
           f"axis for {names}; the left one shows the loss falling towards the dotted OLS "
           f"minimum {floor:.3f}, the right one the excess over it.")
    caption = (f"Loss per update step of every run, on a logarithmic axis. Left: the loss and "
               f"its floor, the OLS minimum L* = {floor:.3f}. Right: the excess L − L*, in "  # noqa: RUF001
               f"which steady (linear) convergence shows as a straight line.")
    return Drawn(fig, alt, caption)
