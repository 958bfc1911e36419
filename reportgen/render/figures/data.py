"""The data figure and the small multiples of each run's fitted line."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from reportgen.render.figures.placement import fit_legend
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


def draw_data(results: Results, width: float = TEXT_WIDTH_IN * 0.7) -> Drawn:
    """The data with the true line and the OLS fit (no OLS line in a copy without θ*)."""
    fig = Figure(figsize=(width, 2.6 if width >= TEXT_WIDTH_IN * 0.7 else 3.0),
                 layout="constrained")
    ax = fig.add_subplot()
    has_points = scatter_data(ax, results)
    xs = x_span(results)
    true = results.config.data.theta
    ols = ols_theta(results)
    true_line = f"y = {fmt_rate(true[0])} {'−' if true[1] < 0 else '+'} {fmt_rate(abs(true[1]))}x"
    ax.plot(xs, true[0] + true[1] * xs, color=TRUE_COLOUR, linestyle="--", linewidth=2,
            label=f"true line  {true_line}")
    if ols is not None:
        ols_line = line_text(ols[0], ols[1])
        ax.plot(xs, ols[0] + ols[1] * xs, color=OLS_COLOUR, linestyle="-",
                label=f"OLS fit  {ols_line}")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    fit_legend(fig, 3 if width >= TEXT_WIDTH_IN * 0.7 else 1)  # under the axes: clear of the lines
    n = results.data.n
    points = (f"{n} data points" if has_points
              else f"the lines only ({n} points are too many to draw)")
    scatter = f"Scatter plot of {n} points (x, y)" if has_points else "A plot"
    if ols is None:
        alt = f"{scatter}, with the true line {true_line} dashed."
        caption = (f"The data: {points}, and the line they were drawn from (dashed). The "
                   f"least-squares line is yours to find.")
    else:
        low, high = y_limits(results)
        apart = float(np.max(np.abs((true[0] - ols[0]) + (true[1] - ols[1]) * xs)))
        closeness = ("the two lines nearly coincide" if apart < 0.05 * (high - low)
                     else "the two lines differ visibly")
        alt = (f"{scatter}, with the true line {true_line} dashed and the least-squares line "
               f"{line_text(ols[0], ols[1])} solid; {closeness}.")
        caption = (f"The data: {points}, the line they were drawn from (dashed) and the "
                   f"ordinary-least-squares fit (solid), intercept {fmt_num(ols[0])} and slope "
                   f"{fmt_num(ols[1])}.")
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
               colour: str, ylim: tuple[float, float], compact: bool = False) -> str:
    """One small multiple: the data, the OLS line, the fitted line (or where it went).
    Returns the panel's label (θ, and where the line went if it left the chart), which
    is set above the panel, where no line can cross it.

    In a copy that withholds θ* an iterate near θ* would give it away (issue 20: a
    mini-batch step printed θ₁ = 2.97 against θ₁* = 2.9685): the label then holds no θ,
    and the fitted lines are drawn as an image, not as end points to read a slope from.
    """
    xs = x_span(results)
    ols = ols_theta(results)
    hide = ols is None
    scatter_data(ax, results, size=3, raster=True)
    if ols is not None:
        ax.plot(xs, ols[0] + ols[1] * xs, color=OLS_COLOUR, linewidth=0.8, linestyle=":")
    if previous is not None and np.all(np.isfinite(previous)):
        ax.plot(xs, previous[0] + previous[1] * xs, color=colour, linewidth=0.9,
                alpha=0.35)[0].set_rasterized(hide)
    if np.all(np.isfinite(theta)):
        ends = theta[0] + theta[1] * xs
        ax.plot(xs, ends, color=colour, linewidth=1.8)[0].set_rasterized(hide)
        digits = 1 if np.max(np.abs(theta)) >= 10 else 2
        if hide:
            label = ""
        elif compact:  # a narrow panel: one parameter a line
            label = (f"θ₀ = {fmt_num(theta[0], digits)}\n"
                     f"θ₁ = {fmt_num(theta[1], digits)}")
        else:
            label = f"θ = {short_theta(theta, digits)}"
        if np.all(ends > ylim[1]):
            label += "\nabove the chart"
        elif np.all(ends < ylim[0]):
            label += "\nbelow the chart"
    else:
        label = "overflowed"
    ax.set_ylim(*ylim)
    ax.tick_params(labelsize=MIN_FONT_PT, length=2, pad=1.5)
    ax.xaxis.set_major_locator(MaxNLocator(3, steps=[1, 2, 5, 10]))  # few ticks: faster
    ax.yaxis.set_major_locator(MaxNLocator(3))
    ax.grid(False)
    return label.strip("\n")


#: Height of a line of panel title (7 pt type, 1.2 line spacing), in inches.
TITLE_LINE_IN = 7.0 * 1.2 / 72


def _grid_figure(title_lines: list[int], ncols: int, width: float, row_height: float,
                 header: float = 0.0) -> tuple[Figure, Any]:
    """A grid of panels laid out in inches: above each row, ``header`` inches for a
    heading and room for its tallest panel title (``title_lines`` lines per row)."""
    nrows = len(title_lines)
    above = [header + lines * TITLE_LINE_IN + 0.06 for lines in title_lines]
    bottom, left = 0.45, 0.55
    height = bottom + sum(above) + nrows * row_height + 0.05
    fig = Figure(figsize=(width, height))
    axes = np.empty((nrows, ncols), dtype=object)
    panel_w = (width - left - 0.05 - 0.08 * (ncols - 1)) / ncols
    top = height - 0.05
    for row in range(nrows):
        top -= above[row]
        for col in range(ncols):
            x = left + col * (panel_w + 0.08)
            rect = (x / width, (top - row_height) / height, panel_w / width, row_height / height)
            share = axes[0, 0] if row or col else None
            axes[row, col] = fig.add_axes(rect, sharex=share, sharey=share)
            if row < nrows - 1:
                axes[row, col].tick_params(labelbottom=False)
            if col:
                axes[row, col].tick_params(labelleft=False)
        top -= row_height
    fig.supxlabel("x", fontsize=8, y=0.03 / height)
    fig.supylabel("y", fontsize=8, x=0.08 / width)
    return fig, axes


def _compact(width: float, ncols: int) -> bool:
    """Whether panels of a grid ``width`` inches wide are too narrow for 'θ = (a, b)'."""
    return (width - 0.6) / ncols < 1.05


def _title(ax: Axes, text: str) -> None:
    # y given: matplotlib then skips placing the title clear of every artist above the
    # axes (none are), a third of the cost of drawing a panel
    ax.set_title(text, fontsize=MIN_FONT_PT, pad=2, y=1.0, linespacing=1.2)


def draw_fits(results: Results, index: int, ncols: int = 4,
              width: float = TEXT_WIDTH_IN) -> Drawn:
    """Small multiples of run ``index``'s fitted line at chosen steps (``ncols`` across),
    each panel titled with its step and θ."""
    run = results.runs[index]
    style = run_style(index)
    path = thetas_of(run)
    picks = _panel_steps(run.steps)
    nrows = math.ceil(len(picks) / ncols)
    ylim = fit_limits(y_limits(results), [path[k] for k in picks], x_span(results))
    # placed for three title lines a row, then fitted to the titles the panels have
    fig, axes = _grid_figure([3] * nrows, ncols, width, 1.2 if ncols >= 4 else 1.1)
    lines_per_row = []
    for row in range(nrows):
        most = 1
        for col in range(ncols):
            ax = axes[row, col]
            slot = row * ncols + col
            if slot >= len(picks):
                ax.set_axis_off()
                continue
            k = picks[slot]
            previous = path[picks[slot - 1]] if slot > 0 else None
            label = _fit_panel(ax, results, path[k], previous, style["color"], ylim,
                               compact=_compact(width, ncols))
            text = "\n".join(part for part in (_step_title(run, k), label) if part)
            _title(ax, text)
            most = max(most, text.count("\n") + 1)
        lines_per_row.append(most)
    for col in range(ncols):  # x ticks under the lowest panel of each column
        filled = [axes[row, col] for row in range(nrows) if row * ncols + col < len(picks)]
        if filled:
            filled[-1].tick_params(labelbottom=True)
    _fit_rows(fig, axes, lines_per_row)
    shown = ("every step" if len(picks) == run.steps + 1
             else f"{len(picks)} of its {run.steps} steps")
    final = short_theta(run.final_theta)
    alt = (f"A grid of {len(picks)} small scatter plots of the data, one per step of "
           f"{run.name}; in each the current fitted line is drawn over the points, starting "
           f"at θ = {short_theta(run.theta_init)} and ending at θ = {final}"
           + (", beside the dotted OLS line." if ols_theta(results) is not None else "."))
    caption = (f"{run.name} at η = {fmt_rate(run.learning_rate)}: the fitted line at "
               f"{shown}" + (", θ above each panel" if ols_theta(results) is not None else "")
               + " (faint: the previous panel’s line"
               + ("; dotted: the OLS line)." if ols_theta(results) is not None else ")."))
    return Drawn(fig, alt, caption)


def _fit_rows(fig: Figure, axes: Any, lines_per_row: list[int], header: float = 0.0) -> None:
    """Move the rows of a grid so that each has room for its tallest title, and fit the
    figure's height to them (the panels were placed for three title lines a row)."""
    nrows, ncols = axes.shape
    width, _ = fig.get_size_inches()
    first = axes[0, 0].get_position()
    row_height = first.height * fig.get_figheight()
    above = [header + lines * TITLE_LINE_IN + 0.06 for lines in lines_per_row]
    bottom = 0.45
    height = bottom + sum(above) + nrows * row_height + 0.05
    fig.set_figheight(height)
    top = height - 0.05
    for row in range(nrows):
        top -= above[row]
        for col in range(ncols):
            box = axes[row, col].get_position()
            axes[row, col].set_position((box.x0, (top - row_height) / height, box.width,
                                         row_height / height))
        top -= row_height
    fig.supxlabel("x", fontsize=8, y=0.03 / height)
    fig.supylabel("y", fontsize=8, x=0.08 / width)


def draw_fits_grid(results: Results, ncols: int = 5, width: float = TEXT_WIDTH_IN) -> Drawn:
    """Every run's fitted line at the same steps: one row per run, one column per step;
    each row headed by its run, each panel titled with its θ."""
    runs = results.runs
    longest = max(r.steps for r in runs)
    picks = _panel_steps(longest, ncols)
    paths = [thetas_of(run) for run in runs]
    shown = [p[k] for p in paths for k in picks if k < len(p)]
    ylim = fit_limits(y_limits(results), shown, x_span(results))
    header = 7.5 * 1.25 / 72 + 0.02
    fig, axes = _grid_figure([3] * len(runs), len(picks), width, 0.95, header=header)
    lines_per_row = []
    for row, path in enumerate(paths):
        colour = run_style(row)["color"]
        most = 1
        for col, k in enumerate(picks):
            ax = axes[row, col]
            if k >= len(path):
                ax.set_axis_off()
                continue
            previous = path[picks[col - 1]] if col > 0 else None
            label = _fit_panel(ax, results, path[k], previous, colour, ylim,
                               compact=_compact(width, len(picks)))
            heading = ("start" if k == 0 else f"step {k}") if row == 0 else ""
            text = "\n".join(part for part in (heading, label) if part)
            _title(ax, text)
            most = max(most, text.count("\n") + 1)
        lines_per_row.append(most)
    _fit_rows(fig, axes, lines_per_row, header=header)
    for row, run in enumerate(runs):
        # the run's name heads its row, above the panels' titles
        lift = 2 + lines_per_row[row] * 7.0 * 1.2 + 2
        axes[row, 0].annotate(run_label(run), (0, 1), xycoords="axes fraction",
                              xytext=(0, lift), textcoords="offset points", fontsize=7.5,
                              fontweight="bold", color=run_style(row)["color"], va="bottom",
                              annotation_clip=False)
    steps = ", ".join(str(k) for k in picks)
    with_ols = ols_theta(results) is not None
    alt = (f"A grid of small scatter plots of the data, one row per run ({len(runs)} rows) and "
           f"one column per step ({steps}); in each the run's fitted line at that step is drawn "
           f"over the points" + (" beside the dotted OLS line." if with_ols else "."))
    caption = (f"Every run’s fitted line at steps {steps}, one row per run"
               + (", θ above each panel" if with_ols else "") + " (faint: the previous panel’s line"
               + ("; dotted: the OLS line)." if with_ols else ")."))
    return Drawn(fig, alt, caption)
