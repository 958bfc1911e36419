"""Results -> figures: deterministic matplotlib SVGs of the handout.

Reads only the plain ``results`` dict (the parsed results.json); never JAX. Every figure
is drawn on a bare :class:`matplotlib.figure.Figure` (no pyplot state), in one style
(Okabe-Ito colours, each run also told apart by line style and marker so the figures
survive grayscale printing), and saved as SVG with a per-figure ``svg.hashsalt`` and no
date, so the same results give the same bytes in any process. Dense artists (3D surfaces,
filled contours, large scatters) are rasterized inside the vector figure: they would
otherwise weigh hundreds of kilobytes and dominate WeasyPrint's time.

The loss of linear least squares is an exact quadratic,
``L(theta) = L* + 1/2 (theta - theta*)^T H (theta - theta*)``, so zoomed views are drawn
from the OLS solution and the Hessian in the results, not interpolated from the grid.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import LogFormatter, LogLocator, MaxNLocator, NullLocator

from reportgen.mathtex import svg_data_uri

__all__ = ["FigureInfo", "make_figures", "run_style"]

# Okabe-Ito, ordered so neighbours differ in lightness too (grayscale printing).
RUN_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
RUN_LINESTYLES: tuple[Any, ...] = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1)), "-")
RUN_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
DATA_COLOUR = "#9a9a9a"
TRUE_COLOUR = "#E69F00"
OLS_COLOUR = "#000000"
CMAP = "viridis"

TEXT_WIDTH_IN = 6.5  # A4 and letter both leave about 6.5 in between the margins
RASTER_DPI = 150
MAX_SMALL_MULTIPLES = 12
MAX_3D_GRID = 60
MAX_CONTOUR_GRID = 300

STYLE: Any = {  # matplotlib rcParams (Any: rc_context types its keys as literals)
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8.5,
    "legend.fontsize": 7.5,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e4e4e4",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "lines.linewidth": 1.5,
    "lines.markersize": 4,
    "legend.frameon": False,
    "mathtext.fontset": "dejavusans",
    "svg.fonttype": "none",
    "image.cmap": CMAP,
    "path.simplify": True,
}


@dataclass(frozen=True)
class FigureInfo:
    """One rendered figure: its SVG, where it lives in the report, and its words."""

    name: str
    number: int
    filename: str  # relative to the report folder, e.g. "figures/loss.svg"
    svg: str
    alt: str
    caption: str
    width_pt: float
    height_pt: float

    @property
    def data_uri(self) -> str:
        """The SVG as a ``data:`` URI, for a self-contained HTML file."""
        return svg_data_uri(self.svg)


@dataclass(frozen=True)
class _Drawn:
    figure: Figure
    alt: str
    caption: str


def run_style(index: int) -> dict[str, Any]:
    """Colour, line style and marker of the ``index``-th run (the same in every figure)."""
    k = index % len(RUN_COLOURS)
    return {"color": RUN_COLOURS[k], "linestyle": RUN_LINESTYLES[k], "marker": RUN_MARKERS[k]}


# ---------------------------------------------------------------------------------------
# Reading the results
# ---------------------------------------------------------------------------------------


def _array(values: Sequence[Any] | None) -> np.ndarray:
    """A float array with ``None`` (non-finite in the results) as NaN."""
    if values is None:
        return np.array([], dtype=float)
    return np.array([[np.nan if v is None else v for v in row] if isinstance(row, list)
                     else (np.nan if row is None else row) for row in values], dtype=float)


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 10 ** -digits):
        return f"{value:.{digits}e}"
    return f"{value:.{digits}f}"


def _thetas(run: dict[str, Any]) -> np.ndarray:
    arr = _array(run["thetas"])
    return arr.reshape(-1, 2) if arr.size else np.zeros((0, 2))


def _losses(run: dict[str, Any]) -> np.ndarray:
    return _array(run["losses"])


def _quadratic(results: dict[str, Any]) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The exact loss ``L(t0, t1)`` from the OLS solution and the Hessian."""
    star = np.asarray(results["ols"]["theta"], dtype=float)
    floor = float(results["ols"]["loss"])
    h = np.asarray(results["diagnostics"]["hessian"], dtype=float)

    def loss(t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
        d0, d1 = t0 - star[0], t1 - star[1]
        return floor + 0.5 * (h[0, 0] * d0 * d0 + 2 * h[0, 1] * d0 * d1 + h[1, 1] * d1 * d1)

    return loss


def _surface_grid(results: dict[str, Any], folder: Path | None) -> tuple[np.ndarray, ...]:
    """(theta0 axis, theta1 axis, loss[i, j] = L(theta0[j], theta1[i]))."""
    surface = results["surface"]
    t0 = np.asarray(surface["theta0"], dtype=float)
    t1 = np.asarray(surface["theta1"], dtype=float)
    if surface.get("loss") is not None:
        grid = np.asarray(surface["loss"], dtype=float)
    elif surface.get("loss_file") and folder is not None \
            and (folder / surface["loss_file"]).is_file():
        grid = np.load(folder / surface["loss_file"], allow_pickle=False)
    else:  # the grid lives elsewhere: the quadratic is exact, so draw from it
        m0, m1 = np.meshgrid(t0, t1)
        grid = _quadratic(results)(m0, m1)
    return t0, t1, grid


def _downsample(surface: tuple[np.ndarray, ...], limit: int) -> tuple[np.ndarray, ...]:
    """Every k-th grid line, so that no axis has more than ``limit`` points."""
    t0, t1, grid = surface
    s0 = max(1, math.ceil(len(t0) / limit))
    s1 = max(1, math.ceil(len(t1) / limit))
    return t0[::s0], t1[::s1], grid[::s1, ::s0]


Box = tuple[float, float, float, float]  # theta0 from, to; theta1 from, to


def _finite_path(run: dict[str, Any], box: Box | None = None) -> np.ndarray:
    """The run's thetas, with non-finite rows (and rows far outside ``box``) as NaN.

    Matplotlib splits a line at NaN and writes no NaN into the SVG; clipping far points
    keeps a divergent run from putting 1e300 into path data.
    """
    th = _thetas(run).copy()
    bad = ~np.all(np.isfinite(th), axis=1)
    if box is not None:
        x0, x1, y0, y1 = box
        wx, wy = x1 - x0, y1 - y0
        far = (th[:, 0] < x0 - 10 * wx) | (th[:, 0] > x1 + 10 * wx) | \
              (th[:, 1] < y0 - 10 * wy) | (th[:, 1] > y1 + 10 * wy)
        bad |= np.nan_to_num(far, nan=True).astype(bool)
    th[bad] = np.nan
    return th


def _last_finite(arr: np.ndarray) -> int | None:
    ok = np.where(np.all(np.isfinite(arr.reshape(len(arr), -1)), axis=1))[0]
    return int(ok[-1]) if len(ok) else None


def _zoom_box(results: dict[str, Any], pad: float = 0.12) -> Box:
    """A window around the OLS point, every start, and the paths of the converging runs.

    Diverging runs (flagged, or gradient descent above 2/L) contribute only their start:
    their paths leave the window, clipped, instead of stretching it to the whole grid.
    """
    s = results["config"]["surface"]
    lim = (s["theta0"][0], s["theta0"][1], s["theta1"][0], s["theta1"][1])
    pts = [np.asarray(results["ols"]["theta"], dtype=float)[None, :]]
    for run in results["runs"]:
        th = _thetas(run)
        if run.get("diverged") or run.get("stable") is False:
            th = th[:1]
        pts.append(th[np.all(np.isfinite(th), axis=1)])
    allp = np.concatenate(pts)
    allp = allp[(allp[:, 0] >= lim[0]) & (allp[:, 0] <= lim[1]) &
                (allp[:, 1] >= lim[2]) & (allp[:, 1] <= lim[3])]
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    span = np.full(2, max(float(np.max(hi - lo)), 0.5))  # square: equal aspect, no distortion
    centre = (lo + hi) / 2
    half = span / 2 * (1 + 2 * pad)
    return (float(centre[0] - half[0]), float(centre[0] + half[0]),
            float(centre[1] - half[1]), float(centre[1] + half[1]))


def _log_levels(low: float, high: float, count: int = 14) -> np.ndarray:
    low = max(low, 1e-12)
    high = max(high, low * 1.0001)
    return np.geomspace(low, high, count)


def _mark_ols(ax: Axes, results: dict[str, Any], *, label: bool = True) -> None:
    t = results["ols"]["theta"]
    ax.plot([t[0]], [t[1]], linestyle="none", marker="*", markersize=11, color=OLS_COLOUR,
            markeredgecolor="white", markeredgewidth=0.8, zorder=6,
            label="OLS solution" if label else None)


def _run_label(run: dict[str, Any]) -> str:
    return f"{run['name']} (lr {run['learning_rate']:g})"


# ---------------------------------------------------------------------------------------
# The figures
# ---------------------------------------------------------------------------------------


def _scatter_data(ax: Axes, results: dict[str, Any], size: float = 9, raster: bool = False) -> bool:
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


def _x_span(results: dict[str, Any]) -> np.ndarray:
    lo, hi = results["config"]["data"]["x_range"]
    return np.array([lo, hi], dtype=float)


def _y_limits(results: dict[str, Any]) -> tuple[float, float]:
    s = results["data"]["summary"]
    if results["data"].get("y") is not None:
        y = np.asarray(results["data"]["y"], dtype=float)
        lo, hi = float(y.min()), float(y.max())
    else:
        lo, hi = s["y_mean"] - 3 * s["y_std"], s["y_mean"] + 3 * s["y_std"]
    pad = 0.08 * (hi - lo or 1.0)
    return lo - pad, hi + pad


def _fit_limits(data_limits: tuple[float, float], thetas: Sequence[np.ndarray],
                xs: np.ndarray) -> tuple[float, float]:
    """y limits that show the data and every panel's fitted line (an early guess far below
    the points would otherwise be clipped away), widened by at most one data span."""
    lo, hi = data_limits
    span = hi - lo
    ends = [t[0] + t[1] * xs for t in thetas if np.all(np.isfinite(t))]
    if ends:
        lines = np.concatenate(ends)
        lo = max(min(lo, float(lines.min()) - 0.05 * span), data_limits[0] - span)
        hi = min(max(hi, float(lines.max()) + 0.05 * span), data_limits[1] + span)
    return lo, hi


def _fig_data(results: dict[str, Any]) -> _Drawn:
    fig = Figure(figsize=(TEXT_WIDTH_IN * 0.72, 2.9))
    ax = fig.add_subplot()
    has_points = _scatter_data(ax, results)
    xs = _x_span(results)
    true = results["config"]["data"]["theta"]
    ols = results["ols"]["theta"]
    ax.plot(xs, true[0] + true[1] * xs, color=TRUE_COLOUR, linestyle="--", linewidth=2,
            label=f"true line  y = {true[0]:g} + {true[1]:g} x")
    ax.plot(xs, ols[0] + ols[1] * xs, color=OLS_COLOUR, linestyle="-",
            label=f"OLS fit  y = {ols[0]:.3f} + {ols[1]:.3f} x")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(loc="upper left")
    n = results["data"]["n"]
    points = (f"{n} data points" if has_points
              else f"the lines only ({n} points are too many to draw)")
    alt = (f"Scatter plot of {n} points (x, y) rising from left to right, with the true line "
           f"y = {true[0]:g} + {true[1]:g} x dashed and the least-squares line "
           f"y = {ols[0]:.3f} + {ols[1]:.3f} x solid; the two lines nearly coincide.")
    caption = (f"The data: {points}, the line they were drawn from (dashed) and the "
               f"ordinary-least-squares fit (solid), intercept {ols[0]:.3f} and slope "
               f"{ols[1]:.3f}.")
    fig.tight_layout()
    return _Drawn(fig, alt, caption)


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


def _fig_fits(results: dict[str, Any], index: int) -> _Drawn:
    run = results["runs"][index]
    style = run_style(index)
    th = _thetas(run)
    picks = _panel_steps(int(run["steps"]))
    ncols = 4
    nrows = math.ceil(len(picks) / ncols)
    fig = Figure(figsize=(TEXT_WIDTH_IN, 1.45 * nrows + 0.35))
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
    xs = _x_span(results)
    ols = results["ols"]["theta"]
    ylim = _fit_limits(_y_limits(results), [th[k] for k in picks], xs)
    for slot, ax in enumerate(axes.flat):
        if slot >= len(picks):
            ax.set_axis_off()
            continue
        k = picks[slot]
        _scatter_data(ax, results, size=3, raster=True)
        ax.plot(xs, ols[0] + ols[1] * xs, color=OLS_COLOUR, linewidth=0.8, linestyle=":")
        if slot > 0 and np.all(np.isfinite(th[picks[slot - 1]])):
            prev = th[picks[slot - 1]]
            ax.plot(xs, prev[0] + prev[1] * xs, color=style["color"], linewidth=0.9, alpha=0.35)
        if np.all(np.isfinite(th[k])):
            ax.plot(xs, th[k][0] + th[k][1] * xs, color=style["color"], linewidth=1.8)
            label = f"θ = ({th[k][0]:.2f}, {th[k][1]:.2f})"
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
    final = _fmt_theta(run.get("final_theta"))
    alt = (f"A grid of {len(picks)} small scatter plots of the data, one per step of "
           f"{run['name']}; in each the current fitted line is drawn over the points, starting "
           f"at θ = {_fmt_theta(run.get('theta_init'))} and ending at θ = {final}, "
           f"beside the dotted OLS line.")
    caption = (f"{run['name']} at learning rate {run['learning_rate']:g}: the fitted line at "
               f"{shown} (faint: the previous panel's line; dotted: the OLS line).")
    return _Drawn(fig, alt, caption)


def _fmt_theta(theta: Sequence[float | None] | None) -> str:
    if theta is None or any(v is None for v in theta):
        return "n/a (overflowed)"
    return f"({theta[0]:.3f}, {theta[1]:.3f})"


def _loss_ceiling(results: dict[str, Any]) -> float:
    tops = []
    for run in results["runs"]:
        ls = _losses(run)
        if len(ls) and np.isfinite(ls[0]):
            tops.append(ls[0])
    top = max(tops) if tops else 1e3
    return float(top * 20)


def _fig_loss(results: dict[str, Any]) -> _Drawn:
    fig = Figure(figsize=(TEXT_WIDTH_IN, 2.7))
    ax, ax2 = fig.subplots(1, 2)
    floor = float(results["ols"]["loss"])
    ceiling = _loss_ceiling(results)
    lowest_gap = np.inf
    for i, run in enumerate(results["runs"]):
        style = run_style(i)
        ls = _losses(run)
        ls[~np.isfinite(ls)] = np.nan
        steps = np.arange(len(ls))
        every = max(1, len(ls) // 12)
        shown = np.where(ls > ceiling, np.nan, ls)
        ax.plot(steps, shown, color=style["color"], linestyle=style["linestyle"],
                marker=style["marker"], markevery=every, markersize=3.2, label=_run_label(run))
        gap = np.where(ls > ceiling, np.nan, ls - floor)
        gap[gap <= 0] = np.nan
        if np.any(np.isfinite(gap)):
            lowest_gap = min(lowest_gap, float(np.nanmin(gap)))
        ax2.plot(steps, gap, color=style["color"], linestyle=style["linestyle"],
                 marker=style["marker"], markevery=every, markersize=3.2)
        if run.get("diverged"):
            k = run.get("diverged_step")
            k = len(ls) - 1 if k is None else int(k)
            last = _last_finite(shown[: k + 1].reshape(-1, 1))
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
    return _Drawn(fig, alt, caption)


def _fig_surface(results: dict[str, Any], folder: Path | None) -> _Drawn:
    t0, t1, grid = _downsample(_surface_grid(results, folder), limit=MAX_3D_GRID)
    m0, m1 = np.meshgrid(t0, t1)
    fig = Figure(figsize=(TEXT_WIDTH_IN * 0.6, 2.9))
    ax = fig.add_subplot(projection="3d")
    surf = ax.plot_surface(m0, m1, grid, cmap=CMAP, linewidth=0, antialiased=False,
                           rcount=len(t1), ccount=len(t0))
    surf.set_rasterized(True)
    star = results["ols"]["theta"]
    ax.plot([star[0]], [star[1]], [results["ols"]["loss"]], marker="*", markersize=10,
            color=OLS_COLOUR, markeredgecolor="white", linestyle="none", zorder=10)
    ax.set_xlabel("θ₀ (intercept)", labelpad=1)
    ax.set_ylabel("θ₁ (slope)", labelpad=1)
    ax.set_zlabel("loss", labelpad=1)
    ax.tick_params(labelsize=6.5, pad=0)
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_major_locator(MaxNLocator(5))
    ax.view_init(elev=28, azim=-60)
    ax.set_box_aspect(None, zoom=0.86)  # keeps the axis labels inside the figure
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=1)
    r0, r1 = results["config"]["surface"]["theta0"], results["config"]["surface"]["theta1"]
    alt = (f"A 3D view of the loss over θ₀ from {r0[0]:g} to {r0[1]:g} and θ₁ from {r1[0]:g} "
           f"to {r1[1]:g}: a long, curved valley (a bowl stretched along one diagonal) whose "
           f"lowest point, marked with a star, is the OLS solution.")
    caption = (f"The loss surface L(θ₀, θ₁) over the grid (minimum on the grid "
               f"{results['surface']['min_loss']:.3f}); the star marks the OLS solution "
               f"{_fmt_theta(star)}.")
    return _Drawn(fig, alt, caption)


def _draw_paths(ax: Axes, results: dict[str, Any], box: Box,
                *, label: bool, markers: bool = True) -> None:
    for i, run in enumerate(results["runs"]):
        style = run_style(i)
        th = _finite_path(run, box)
        every = max(1, len(th) // 40)
        ax.plot(th[:, 0], th[:, 1], color=style["color"], linestyle=style["linestyle"],
                linewidth=1.3, marker=style["marker"] if markers else None, markersize=2.8,
                markevery=every, zorder=4, label=_run_label(run) if label else None)
        start = th[0]
        if np.all(np.isfinite(start)):
            ax.plot([start[0]], [start[1]], marker="o", markersize=7, markerfacecolor="white",
                    markeredgecolor=style["color"], markeredgewidth=1.6, linestyle="none", zorder=5)
        last = _last_finite(th)
        if last is not None and last > 0:
            end = th[last]
            ax.plot([end[0]], [end[1]], marker=style["marker"], markersize=7,
                    color=style["color"], markeredgecolor="black", markeredgewidth=0.6,
                    linestyle="none", zorder=5)


def _fig_contour(results: dict[str, Any], folder: Path | None) -> _Drawn:
    t0, t1, grid = _downsample(_surface_grid(results, folder), limit=MAX_CONTOUR_GRID)
    fig = Figure(figsize=(TEXT_WIDTH_IN, 3.6), layout="constrained")
    # equal-aspect panels: leave headroom, or constrained layout lets the titles clip
    fig.get_layout_engine().set(rect=(0, 0, 1, 0.96))  # type: ignore[call-arg, union-attr]
    ax, zoom = fig.subplots(1, 2)
    floor = max(float(np.nanmin(grid)), 1e-12)
    levels = _log_levels(floor, float(np.nanmax(grid)))
    filled = ax.contourf(t0, t1, grid, levels=levels, norm=LogNorm(), cmap=CMAP, alpha=0.6)
    filled.set_rasterized(True)
    ax.contour(t0, t1, grid, levels=levels, colors="white", linewidths=0.4, alpha=0.7)
    full = (float(t0[0]), float(t0[-1]), float(t1[0]), float(t1[-1]))
    _draw_paths(ax, results, full, label=True, markers=False)
    _mark_ols(ax, results)
    ax.set_xlim(full[0], full[1])
    ax.set_ylim(full[2], full[3])
    ax.set_aspect("equal")
    ax.grid(False)
    ax.set_title("the whole grid")

    box = _zoom_box(results)
    z0 = np.linspace(box[0], box[1], 160)
    z1 = np.linspace(box[2], box[3], 160)
    zm0, zm1 = np.meshgrid(z0, z1)
    zgrid = _quadratic(results)(zm0, zm1)
    zfloor = float(results["ols"]["loss"])
    zlevels = zfloor + (float(zgrid.max()) - zfloor) * np.linspace(0, 1, 16)[1:] ** 2
    zf = zoom.contourf(z0, z1, zgrid, levels=np.concatenate([[zfloor], zlevels]), cmap=CMAP,
                       alpha=0.6)
    zf.set_rasterized(True)
    zoom.contour(z0, z1, zgrid, levels=zlevels, colors="white", linewidths=0.4, alpha=0.7)
    _draw_paths(zoom, results, box, label=False)
    _mark_ols(zoom, results, label=False)
    zoom.set_xlim(box[0], box[1])
    zoom.set_ylim(box[2], box[3])
    zoom.set_aspect("equal")
    zoom.grid(False)
    zoom.set_title("zoomed on the paths")
    ax.indicate_inset((box[0], box[2], box[1] - box[0], box[3] - box[2]), zoom,
                      edgecolor="black", alpha=0.6)
    for a in (ax, zoom):
        a.set_xlabel("θ₀ (intercept)")
        a.set_ylabel("θ₁ (slope)")
    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], marker="o", markerfacecolor="white", markeredgecolor="#444",
                       linestyle="none", markersize=6),
                Line2D([], [], marker="o", color="#444", markeredgecolor="black",
                       linestyle="none", markersize=5)]
    labels += ["start", "end (filled marker)"]
    ncol = min(len(labels), 3)
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol)
    alt = ("Two contour maps of the loss over (θ₀, θ₁): on the left the whole grid, a narrow "
           "tilted elliptical valley; on the right a zoom around the OLS minimum (a star) with "
           "every run's path of parameter values from its start (open circle) to its end.")
    caption = ("Contour map of the loss (log-spaced levels) with every run's path in exact "
               "(θ₀, θ₁) coordinates: open circles are the starts, filled markers the ends, "
               "the star the OLS solution. The zoom on the right is drawn from the exact "
               "quadratic form of the loss.")
    return _Drawn(fig, alt, caption)


def _fig_trajectories3d(results: dict[str, Any]) -> _Drawn:
    runs = results["runs"]
    ncols = min(len(runs), 2)
    nrows = math.ceil(len(runs) / ncols)
    fig = Figure(figsize=(TEXT_WIDTH_IN, 3.0 * nrows))
    box = _zoom_box(results, pad=0.2)
    z0 = np.linspace(box[0], box[1], 40)
    z1 = np.linspace(box[2], box[3], 40)
    m0, m1 = np.meshgrid(z0, z1)
    loss = _quadratic(results)
    grid = loss(m0, m1)
    top = float(grid.max())
    for i, run in enumerate(runs):
        style = run_style(i)
        ax = fig.add_subplot(nrows, ncols, i + 1, projection="3d")
        surf = ax.plot_surface(m0, m1, grid, cmap=CMAP, alpha=0.45, linewidth=0,
                               antialiased=False, rcount=40, ccount=40)
        surf.set_rasterized(True)
        th = _finite_path(run, box)
        inside = ((th[:, 0] >= box[0]) & (th[:, 0] <= box[1])
                  & (th[:, 1] >= box[2]) & (th[:, 1] <= box[3]))
        th[~inside] = np.nan
        ls = _losses(run)
        ls = np.where(np.isfinite(ls) & (ls <= top) & inside, ls, np.nan)
        ax.plot(th[:, 0], th[:, 1], ls, color=style["color"], marker=style["marker"],
                markersize=3, linewidth=1.4, zorder=10)
        star = results["ols"]["theta"]
        ax.plot([star[0]], [star[1]], [results["ols"]["loss"]], marker="*", markersize=9,
                color=OLS_COLOUR, markeredgecolor="white", linestyle="none", zorder=11)
        ax.set_xlim(box[0], box[1])
        ax.set_ylim(box[2], box[3])
        ax.set_zlim(float(results["ols"]["loss"]), top)
        ax.set_title(_run_label(run), fontsize=7.5, pad=0)
        ax.set_xlabel("θ₀", labelpad=-4)
        ax.set_ylabel("θ₁", labelpad=-4)
        ax.set_zlabel("loss", labelpad=-4)
        ax.tick_params(labelsize=6, pad=-2)
        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
            axis.set_major_locator(MaxNLocator(5))
        ax.view_init(elev=38, azim=-58)
        ax.set_box_aspect(None, zoom=0.88)  # room for the z label inside the panel
    fig.subplots_adjust(left=0.0, right=0.97, bottom=0.02, top=0.95, wspace=0.05, hspace=0.12)
    alt = ("One 3D plot per run: a bowl-shaped piece of the loss surface around the minimum, "
           "with the run's sequence of (θ₀, θ₁, loss) points drawn as a connected line that "
           "descends towards the starred OLS minimum.")
    caption = ("Each run's path over the loss surface (the notebook's view), drawn in the "
               "window of the zoomed contour map; the star is the OLS minimum.")
    return _Drawn(fig, alt, caption)


def _gd_full_batch_runs(results: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    return [(i, r) for i, r in enumerate(results["runs"])
            if r["optimizer"] == "gd" and r.get("full_batch")]


def _fig_rates(results: dict[str, Any]) -> _Drawn:
    diag = results["diagnostics"]
    lmin, lmax = diag["hessian_eigenvalues"]
    bound, best = diag["max_stable_lr"], diag["optimal_lr"]
    rates = [float(r["learning_rate"]) for r in results["runs"]]
    right = min(max(1.3 * bound, 1.1 * max(rates)), 3 * bound)
    kinks = [1 / lmax, 1 / lmin, 2 / (lmin + lmax)]
    lr = np.unique(np.array([0.0, right, *[k for k in kinks if 0 < k < right]]))
    fig = Figure(figsize=(TEXT_WIDTH_IN * 0.8, 3.3))
    ax = fig.add_subplot()
    ax.plot(lr, np.abs(1 - lr * lmin), color="#56B4E9", linestyle="--", linewidth=1.2,
            label=f"slow direction |1 − lr·λmin|, λmin = {lmin:.3f}")  # noqa: RUF001
    ax.plot(lr, np.abs(1 - lr * lmax), color="#E69F00", linestyle="-.", linewidth=1.2,
            label=f"fast direction |1 − lr·λmax|, λmax = {lmax:.3f}")  # noqa: RUF001
    ax.plot(lr, np.maximum(np.abs(1 - lr * lmin), np.abs(1 - lr * lmax)), color="black",
            linewidth=1.8, label="per-step contraction (the larger)")
    ax.axhline(1.0, color="#777", linewidth=0.8)
    ax.axvline(bound, color="#D55E00", linewidth=1.2, linestyle=(0, (4, 2)))
    ax.axvline(best, color="#009E73", linewidth=1.2, linestyle=(0, (1, 1.5)))
    # labels at the top right of their lines, where the curves never go
    # rotated labels hanging from the top, beside (not on) their lines
    for x, text, colour, dx, side in ((bound, f"2/L = {bound:.3f}", "#D55E00", 9, "top"),
                                      (best, f"optimal {best:.3f}", "#009E73", -2, "bottom")):
        ax.annotate(text, (x, 0.98), xycoords=ax.get_xaxis_transform(), xytext=(dx, 0),
                    textcoords="offset points", color=colour, fontsize=7, rotation=90,
                    ha="right", va=side, rotation_mode="anchor")
    seen: set[float] = set()
    for i, run in enumerate(results["runs"]):
        r = float(run["learning_rate"])
        if r > right or r in seen:
            continue
        seen.add(r)
        c = max(abs(1 - r * lmin), abs(1 - r * lmax))
        st = run_style(i)
        ax.plot([r], [c], marker=st["marker"], color=st["color"], markersize=7,
                markeredgecolor="black", markeredgewidth=0.5, linestyle="none", zorder=5)
        above = len(seen) % 2 == 1
        ax.annotate(f"lr {r:g}", (r, c), textcoords="offset points",
                    xytext=(4, 5) if above else (4, -11), fontsize=7)
    ax.set_xlim(0, right)
    ax.set_ylim(0, 2.0)
    ax.set_xlabel("learning rate lr")
    ax.set_ylabel("error factor per step")
    fig.set_figheight(3.3)
    fig.legend(loc="outside lower center", ncol=2, fontsize=6.8)
    fig.set_layout_engine("constrained")
    alt = (f"Line chart of the per-step error factor of full-batch gradient descent against "
           f"the learning rate: the slow-direction factor falls slowly from 1, the fast one "
           f"falls to 0 and rises back through 1 at 2/L = {bound:.3f}; the larger of the two "
           f"is lowest at the optimal rate {best:.3f}. The handout's rates are marked.")
    caption = (f"How the learning rate sets the speed of full-batch gradient descent: along "
               f"each eigenvector of the Hessian the error is multiplied by |1 − lr·λ| per "  # noqa: RUF001
               f"step. Below 1 the run converges; the fast direction crosses 1 at "
               f"2/L = {bound:.3f}, where divergence starts; the best worst case is at "
               f"{best:.3f}. Markers: the rates this handout runs.")
    return _Drawn(fig, alt, caption)


def _fig_sweep(results: dict[str, Any]) -> _Drawn:
    sweep = results["sweep"]
    diag = results["diagnostics"]
    rates = np.asarray(sweep["learning_rates"], dtype=float)
    finals = _array(sweep["final_losses"])
    diverged = np.asarray(sweep["diverged"], dtype=bool)
    fig = Figure(figsize=(TEXT_WIDTH_IN * 0.8, 3.2))
    ax = fig.add_subplot()
    ok = np.isfinite(finals) & ~diverged
    ax.plot(rates[ok], finals[ok], color=RUN_COLOURS[0], marker="o", markersize=3.5,
            label=f"final loss after {sweep['epochs']} epochs")
    top = float(np.nanmax(finals[ok])) * 2 if ok.any() else 10.0
    if diverged.any():
        ax.plot(rates[diverged], np.full(diverged.sum(), top), linestyle="none", marker="x",
                color=RUN_COLOURS[1], markersize=6, markeredgewidth=1.6, label="diverged")
    ax.axhline(results["ols"]["loss"], color=OLS_COLOUR, linestyle=(0, (1, 1)), linewidth=1,
               label=f"OLS minimum {results['ols']['loss']:.3f}")
    ax.axvline(diag["max_stable_lr"], color="#D55E00", linestyle=(0, (4, 2)), linewidth=1.2,
               label=f"2/L = {diag['max_stable_lr']:.3f}")
    ax.axvline(diag["optimal_lr"], color="#009E73", linestyle=(0, (1, 1.5)), linewidth=1.2,
               label=f"optimal rate {diag['optimal_lr']:.3f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(LogFormatter(labelOnlyBase=False))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("learning rate")
    ax.set_ylabel("final loss")
    fig.legend(loc="outside lower center", ncol=3, fontsize=6.8)
    fig.set_layout_engine("constrained")
    n_div = int(diverged.sum())
    alt = (f"Log-log chart of the final loss against the learning rate for {len(rates)} rates "
           f"from {rates.min():g} to {rates.max():g}; the loss falls as the rate grows, down to "
           f"the OLS floor, until 2/L = {diag['max_stable_lr']:.3f}; {n_div} rates diverged "
           f"and are drawn as crosses.")
    caption = (f"A sweep of {len(rates)} learning rates, each run for {sweep['epochs']} epochs "
               f"of full-batch gradient descent: the final loss against the rate, with 2/L and "
               f"the optimal rate marked; crosses are runs that diverged.")
    return _Drawn(fig, alt, caption)


# ---------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------


def svg_bytes(fig: Figure, name: str) -> str:
    """The figure as a deterministic SVG string (salted ids, no date)."""
    buf = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": f"reportgen:{name}", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", dpi=RASTER_DPI, metadata={"Date": None})
    return buf.getvalue()


def _plan(results: dict[str, Any], folder: Path) -> list[tuple[str, Callable[[], _Drawn]]]:
    """The figures of the handout, in the order the shipped template shows them."""
    plan: list[tuple[str, Callable[[], _Drawn]]] = [
        ("data", lambda: _fig_data(results)),
        ("surface", lambda: _fig_surface(results, folder)),
    ]
    for i in range(len(results["runs"])):
        plan.append((f"fits-{i + 1}", lambda i=i: _fig_fits(results, i)))  # type: ignore[misc]
    plan += [
        ("contour", lambda: _fig_contour(results, folder)),
        ("trajectories-3d", lambda: _fig_trajectories3d(results)),
        ("loss", lambda: _fig_loss(results)),
        ("learning-rates", lambda: _fig_rates(results)),
    ]
    if results.get("sweep"):
        plan.append(("sweep", lambda: _fig_sweep(results)))
    return plan


def make_figures(results: dict[str, Any], folder: Path) -> dict[str, FigureInfo]:
    """Draw every figure of the handout into ``folder/figures/*.svg``.

    Returns the figures by name, in the order the handout shows them, numbered from 1.
    ``folder`` is also where a large surface grid (``surface.loss_file``) is read from.
    """
    out_dir = folder / "figures"
    out_dir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, FigureInfo] = {}
    with mpl.rc_context(STYLE):
        for number, (name, draw) in enumerate(_plan(results, folder), start=1):
            drawn = draw()
            svg = svg_bytes(drawn.figure, name)
            filename = f"figures/{name}.svg"
            (folder / filename).write_text(svg, encoding="utf-8")
            width, height = (float(v) * 72 for v in drawn.figure.get_size_inches())
            figures[name] = FigureInfo(name, number, filename, svg, drawn.alt, drawn.caption,
                                       round(width, 2), round(height, 2))
    return figures
