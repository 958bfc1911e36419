"""The data figure and the small multiples of each run's fitted line."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from reportgen.render.figures.reading import (
    fit_limits,
    ols_theta,
    short_theta,
    thetas_of,
    x_span,
    y_limits,
)
from reportgen.render.figures.style import (
    DATA_COLOUR,
    MAX_SMALL_MULTIPLES,
    MIN_FONT_PT,
    OLS_COLOUR,
    TEXT_WIDTH_IN,
    TRUE_COLOUR,
    Drawn,
    run_label,
    run_style,
)
from reportgen.render.format import fmt_num, fmt_rate
from reportgen.store.results import Results, Run


def scatter_data(ax: Axes, results: Results, size: float = 9, raster: bool = False) -> bool:
    data = results.data
    if data.x is None or data.y is None:
        return False
    x, y = np.asarray(data.x, dtype=float), np.asarray(data.y, dtype=float)
    if len(x) > 2000:  # a readable sample; every point would be a grey blot anyway
        step = math.ceil(len(x) / 2000)
        x, y = x[::step], y[::step]
    coll = ax.scatter(x, y, s=size, color=DATA_COLOUR, edgecolors="none", zorder=2, label="data")
    coll.set_rasterized(raster or len(x) > 500)
    return True


def line_text(intercept: float, slope: float, digits: int = 3) -> str:
    """'y = 4.222 + 2.968x', with a true minus for a negative slope."""
    sign = "−" if slope < 0 else "+"
    return f"y = {fmt_num(intercept, digits)} {sign} {fmt_num(abs(slope), digits)}x"


def draw_data(results: Results) -> Drawn:
    """The data with the true line and the OLS fit."""
    fig = Figure(figsize=(TEXT_WIDTH_IN * 0.7, 2.6))
    ax = fig.add_subplot()
    has_points = scatter_data(ax, results)
    xs = x_span(results)
    true = results.config.data.theta
    ols = ols_theta(results)
    true_line = f"y = {fmt_rate(true[0])} {'−' if true[1] < 0 else '+'} {fmt_rate(abs(true[1]))}x"
    ols_line = line_text(ols[0], ols[1])
    ax.plot(xs, true[0] + true[1] * xs, color=TRUE_COLOUR, linestyle="--", linewidth=2,
            label=f"true line  {true_line}")
    ax.plot(xs, ols[0] + ols[1] * xs, color=OLS_COLOUR, linestyle="-",
            label=f"OLS fit  {ols_line}")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(loc="upper left")
    n = results.data.n
    points = (f"{n} data points" if has_points
              else f"the lines only ({n} points are too many to draw)")
    low, high = y_limits(results)
    apart = float(np.max(np.abs((true[0] - ols[0]) + (true[1] - ols[1]) * xs)))
    closeness = ("the two lines nearly coincide" if apart < 0.05 * (high - low)
                 else "the two lines differ visibly")
    alt = (f"Scatter plot of {n} points (x, y), with the true line {true_line} dashed and the "
           f"least-squares line {ols_line} solid; {closeness}.")
    caption = (f"The data: {points}, the line they were drawn from (dashed) and the "
               f"ordinary-least-squares fit (solid), intercept {fmt_num(ols[0])} and slope "
               f"{fmt_num(ols[1])}.")
    fig.tight_layout()
    return Drawn(fig, alt, caption)


def _panel_steps(steps: int, count: int = MAX_SMALL_MULTIPLES) -> list[int]:
    """Which steps the panels show: every one while they fit, else a geometric choice."""
    if steps + 1 <= count:
        return list(range(steps + 1))
    picks = np.unique(np.round(np.geomspace(1, steps + 1, count)).astype(int) - 1)
    return sorted({0, *picks.tolist(), steps})[-count:]


def _step_title(run: Run, k: int) -> str:
    if k == 0:
        return "start"
    per = 1 if run.steps_per_epoch is None else run.steps_per_epoch
    if run.full_batch or per <= 1:
        return f"step {k}"
    return f"step {k} (epoch {(k - 1) // per + 1}, batch {(k - 1) % per + 1})"


def _fit_panel(ax: Axes, results: Results, theta: np.ndarray, previous: np.ndarray | None,
               colour: str, ylim: tuple[float, float], title: str) -> None:
    """One small multiple: the data, the OLS line, the fitted line (or where it went)."""
    xs = x_span(results)
    ols = ols_theta(results)
    scatter_data(ax, results, size=3, raster=True)
    ax.plot(xs, ols[0] + ols[1] * xs, color=OLS_COLOUR, linewidth=0.8, linestyle=":")
    if previous is not None and np.all(np.isfinite(previous)):
        ax.plot(xs, previous[0] + previous[1] * xs, color=colour, linewidth=0.9, alpha=0.35)
    if np.all(np.isfinite(theta)):
        ends = theta[0] + theta[1] * xs
        ax.plot(xs, ends, color=colour, linewidth=1.8)
        digits = 1 if np.max(np.abs(theta)) >= 10 else 2
        label = f"θ = {short_theta(theta, digits)}"
        if np.all(ends > ylim[1]) or np.all(ends < ylim[0]):
            label += "\nline off the chart"
    else:
        label = "overflowed"
    if title:
        # y given: matplotlib then skips placing the title clear of every artist above
        # the axes (none are), a third of the cost of drawing a panel
        ax.set_title(title, fontsize=MIN_FONT_PT, pad=2, y=1.0)
    ax.text(0.03, 0.96, label, transform=ax.transAxes, fontsize=MIN_FONT_PT, va="top",
            linespacing=1.1)
    ax.set_ylim(*ylim)
    ax.tick_params(labelsize=MIN_FONT_PT, length=2, pad=1.5)
    ax.xaxis.set_major_locator(MaxNLocator(3, steps=[1, 2, 5, 10]))  # few ticks: faster
    ax.yaxis.set_major_locator(MaxNLocator(3))
    ax.grid(False)


def _grid_figure(nrows: int, ncols: int, width: float, row_height: float,
                 gap: float = 0.32, top: float = 0.22) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, row_height * nrows + 0.2 + top))
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
    height = fig.get_figheight()
    # fixed margins (in inches) instead of tight_layout: one draw fewer per figure
    fig.subplots_adjust(left=0.55 / width, right=0.99, bottom=0.45 / height,
                        top=1 - top / height, wspace=0.08, hspace=gap)
    fig.supxlabel("x", fontsize=8, y=0.03 / height)
    fig.supylabel("y", fontsize=8, x=0.08 / width)
    return fig, axes


def draw_fits(results: Results, index: int, ncols: int = 4) -> Drawn:
    """Small multiples of run ``index``'s fitted line at chosen steps (``ncols`` across)."""
    run = results.runs[index]
    style = run_style(index)
    path = thetas_of(run)
    picks = _panel_steps(run.steps)
    nrows = math.ceil(len(picks) / ncols)
    width = TEXT_WIDTH_IN if ncols >= 4 else TEXT_WIDTH_IN * 0.62
    fig, axes = _grid_figure(nrows, ncols, width, 1.45)
    ylim = fit_limits(y_limits(results), [path[k] for k in picks], x_span(results))
    for slot, ax in enumerate(axes.flat):
        if slot >= len(picks):
            ax.set_axis_off()
            continue
        k = picks[slot]
        previous = path[picks[slot - 1]] if slot > 0 else None
        _fit_panel(ax, results, path[k], previous, style["color"], ylim, _step_title(run, k))
    shown = ("every step" if len(picks) == run.steps + 1
             else f"{len(picks)} of its {run.steps} steps")
    final = short_theta(run.final_theta)
    alt = (f"A grid of {len(picks)} small scatter plots of the data, one per step of "
           f"{run.name}; in each the current fitted line is drawn over the points, starting "
           f"at θ = {short_theta(run.theta_init)} and ending at θ = {final}, "
           f"beside the dotted OLS line.")
    caption = (f"{run.name} at η = {fmt_rate(run.learning_rate)}: the fitted line at "
               f"{shown} (faint: the previous panel’s line; dotted: the OLS line).")
    return Drawn(fig, alt, caption)


def draw_fits_grid(results: Results, ncols: int = 5) -> Drawn:
    """Every run's fitted line at the same steps: one row per run, one column per step."""
    runs = results.runs
    longest = max(r.steps for r in runs)
    picks = _panel_steps(longest, ncols)
    width = TEXT_WIDTH_IN if len(picks) > 3 else TEXT_WIDTH_IN * 0.62
    fig, axes = _grid_figure(len(runs), len(picks), width, 1.1, gap=0.45, top=0.42)
    paths = [thetas_of(run) for run in runs]
    shown = [p[k] for p in paths for k in picks if k < len(p)]
    ylim = fit_limits(y_limits(results), shown, x_span(results))
    for row, (run, path) in enumerate(zip(runs, paths, strict=True)):
        colour = run_style(row)["color"]
        for col, k in enumerate(picks):
            ax = axes[row, col]
            if k >= len(path):
                ax.set_axis_off()
                continue
            previous = path[picks[col - 1]] if col > 0 else None
            title = "start" if k == 0 else f"step {k}"
            _fit_panel(ax, results, path[k], previous, colour, ylim, title if row == 0 else "")
        # the run's name heads its row, above the panels
        axes[row, 0].annotate(run_label(run), (0, 1), xycoords="axes fraction",
                              xytext=(0, 14 if row == 0 else 3), textcoords="offset points",
                              fontsize=7.5, fontweight="bold", color=colour, va="bottom")
    steps = ", ".join(str(k) for k in picks)
    alt = (f"A grid of small scatter plots of the data, one row per run ({len(runs)} rows) and "
           f"one column per step ({steps}); in each the run's fitted line at that step is drawn "
           f"over the points beside the dotted OLS line.")
    caption = (f"Every run’s fitted line at steps {steps}, one row per run (faint: the previous "
               f"panel’s line; dotted: the OLS line).")
    return Drawn(fig, alt, caption)
