"""The data figure and the small multiples of each run's fitted line."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from reportgen.render.figures.reading import fit_limits, short_theta, thetas_of, x_span, y_limits
from reportgen.render.figures.style import (
    DATA_COLOUR,
    MAX_SMALL_MULTIPLES,
    OLS_COLOUR,
    TEXT_WIDTH_IN,
    TRUE_COLOUR,
    Drawn,
    num,
    run_style,
)


def scatter_data(ax: Axes, results: dict[str, Any], size: float = 9, raster: bool = False) -> bool:
    data = results["data"]
    if data.get("x") is None or data.get("y") is None:
        return False
    x, y = np.asarray(data["x"], dtype=float), np.asarray(data["y"], dtype=float)
    if len(x) > 2000:  # a readable sample; every point would be a grey blot anyway
        step = math.ceil(len(x) / 2000)
        x, y = x[::step], y[::step]
    coll = ax.scatter(x, y, s=size, color=DATA_COLOUR, edgecolors="none", zorder=2, label="data")
    coll.set_rasterized(raster or len(x) > 500)
    return True


def draw_data(results: dict[str, Any]) -> Drawn:
    """The data with the true line and the OLS fit."""
    fig = Figure(figsize=(TEXT_WIDTH_IN * 0.72, 2.9))
    ax = fig.add_subplot()
    has_points = scatter_data(ax, results)
    xs = x_span(results)
    true = results["config"]["data"]["theta"]
    ols = results["ols"]["theta"]
    ax.plot(xs, true[0] + true[1] * xs, color=TRUE_COLOUR, linestyle="--", linewidth=2,
            label=f"true line  y = {num(true[0], 'g')} + {num(true[1], 'g')} x")
    ax.plot(xs, ols[0] + ols[1] * xs, color=OLS_COLOUR, linestyle="-",
            label=f"OLS fit  y = {num(ols[0], '.3f')} + {num(ols[1], '.3f')} x")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(loc="upper left")
    n = results["data"]["n"]
    points = (f"{n} data points" if has_points
              else f"the lines only ({n} points are too many to draw)")
    alt = (f"Scatter plot of {n} points (x, y) rising from left to right, with the true line "
           f"y = {num(true[0], 'g')} + {num(true[1], 'g')} x dashed and the least-squares line "
           f"y = {num(ols[0], '.3f')} + {num(ols[1], '.3f')} x solid; the two lines nearly "
           f"coincide.")
    caption = (f"The data: {points}, the line they were drawn from (dashed) and the "
               f"ordinary-least-squares fit (solid), intercept {num(ols[0], '.3f')} and slope "
               f"{num(ols[1], '.3f')}.")
    fig.tight_layout()
    return Drawn(fig, alt, caption)


def _panel_steps(steps: int) -> list[int]:
    if steps + 1 <= MAX_SMALL_MULTIPLES:
        return list(range(steps + 1))
    picks = np.unique(np.round(np.geomspace(1, steps + 1, MAX_SMALL_MULTIPLES - 1)).astype(int) - 1)
    return sorted({0, *picks.tolist(), steps})[-MAX_SMALL_MULTIPLES:]


def _step_title(run: dict[str, Any], k: int) -> str:
    if k == 0:
        return "start"
    if run.get("full_batch", True) or run.get("steps_per_epoch", 1) <= 1:
        return f"step {k}"
    per = int(run["steps_per_epoch"])
    return f"step {k} (epoch {(k - 1) // per + 1}, batch {(k - 1) % per + 1})"


def draw_fits(results: dict[str, Any], index: int) -> Drawn:
    """Small multiples of run ``index``'s fitted line at chosen steps."""
    run = results["runs"][index]
    style = run_style(index)
    path = thetas_of(run)
    picks = _panel_steps(int(run["steps"]))
    ncols = 4
    nrows = math.ceil(len(picks) / ncols)
    fig = Figure(figsize=(TEXT_WIDTH_IN, 1.45 * nrows + 0.35))
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
    xs = x_span(results)
    ols = results["ols"]["theta"]
    ylim = fit_limits(y_limits(results), [path[k] for k in picks], xs)
    for slot, ax in enumerate(axes.flat):
        if slot >= len(picks):
            ax.set_axis_off()
            continue
        k = picks[slot]
        scatter_data(ax, results, size=3, raster=True)
        ax.plot(xs, ols[0] + ols[1] * xs, color=OLS_COLOUR, linewidth=0.8, linestyle=":")
        if slot > 0 and np.all(np.isfinite(path[picks[slot - 1]])):
            prev = path[picks[slot - 1]]
            ax.plot(xs, prev[0] + prev[1] * xs, color=style["color"], linewidth=0.9, alpha=0.35)
        if np.all(np.isfinite(path[k])):
            ax.plot(xs, path[k][0] + path[k][1] * xs, color=style["color"], linewidth=1.8)
            label = f"θ = ({num(path[k][0], '.2f')}, {num(path[k][1], '.2f')})"
        else:
            label = "overflowed"
        ax.set_title(_step_title(run, k), fontsize=7, pad=2)
        ax.text(0.03, 0.95, label, transform=ax.transAxes, fontsize=6.3, va="top")
        ax.set_ylim(*ylim)
        ax.tick_params(labelsize=6.5, length=2, pad=1.5)
        ax.xaxis.set_major_locator(MaxNLocator(3, steps=[1, 2, 5, 10]))  # few ticks: faster
        ax.yaxis.set_major_locator(MaxNLocator(3))
        ax.grid(False)
    height = fig.get_figheight()
    # fixed margins (in inches) instead of tight_layout: one draw fewer per figure
    fig.subplots_adjust(left=0.6 / TEXT_WIDTH_IN, right=0.99, bottom=0.45 / height,
                        top=1 - 0.2 / height, wspace=0.08, hspace=0.3)
    fig.supxlabel("x", fontsize=7.5, y=0.02 / height)
    fig.supylabel("y", fontsize=7.5, x=0.1 / TEXT_WIDTH_IN)
    shown = ("every step" if len(picks) == int(run["steps"]) + 1
             else f"{len(picks)} of its {run['steps']} steps")
    final = short_theta(run.get("final_theta"))
    alt = (f"A grid of {len(picks)} small scatter plots of the data, one per step of "
           f"{run['name']}; in each the current fitted line is drawn over the points, starting "
           f"at θ = {short_theta(run.get('theta_init'))} and ending at θ = {final}, "
           f"beside the dotted OLS line.")
    caption = (f"{run['name']} at learning rate {num(run['learning_rate'], 'g')}: the fitted "
               f"line at {shown} (faint: the previous panel's line; dotted: the OLS line).")
    return Drawn(fig, alt, caption)
