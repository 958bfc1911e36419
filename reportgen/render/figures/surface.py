"""The loss surface in 3D, the contour map with every path, and each path over the surface.

Where several runs are drawn, each gets its own zoomed panel (small multiples in one
window), so that paths that share a valley floor do not merge into one band; every end
marker is kept clear of the others and of the OLS star (:mod:`.placement`). A copy that
withholds theta* draws no star and rasterizes the paths at print resolution (see
``PATHS_AS_IMAGE``).
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import ConnectionPatch, Rectangle
from matplotlib.ticker import MaxNLocator

from reportgen.render.figures.placement import (
    axes_box,
    dodge,
    line_paths,
    marker_disc,
    marker_radius,
    settle,
    shifted,
    to_points,
)
from reportgen.render.figures.reading import (
    Box,
    downsample,
    drawn_steps,
    finite_path,
    last_finite,
    losses_of,
    ols_theta,
    short_theta,
    surface_grid,
    valley_shape,
    window_loss,
    zoom_box,
)
from reportgen.render.figures.style import (
    CMAP,
    LOSS,
    MAX_3D_GRID,
    MAX_CONTOUR_GRID,
    MIN_FONT_PT,
    OLS_COLOUR,
    TEXT_WIDTH_IN,
    Drawn,
    log_levels,
    run_label,
    run_style,
)
from reportgen.render.format import fmt_num, fmt_rate
from reportgen.store.results import Results, Run

STAR_SIZE = 11.0  # points
END_SIZE = 7.0
END_EDGE = 0.6
OTHER_RUNS = "#b8b8b8"
_NUMBERS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
            9: "nine"}
#: In a copy without theta*, the paths are drawn as an image at this resolution, not as
#: vector paths whose end points would give a converged run's last theta to 7 digits.
PATHS_AS_IMAGE = "paths drawn as an image"


def _hides_theta_star(results: Results) -> bool:
    return ols_theta(results) is None


def mark_ols(ax: Axes, results: Results, *, label: bool = True, size: float = STAR_SIZE,
             z: float | None = None, zorder: float = 6) -> Line2D | None:
    """Star the OLS solution (on a 2D axes, or at height ``z`` on a 3D one); nothing in a
    copy that withholds theta*."""
    t = ols_theta(results)
    if t is None:
        return None
    where = [[t[0]], [t[1]]] + ([[z]] if z is not None else [])
    (star,) = ax.plot(*where, linestyle="none", marker="*", markersize=size,
                      color=OLS_COLOUR, markeredgecolor="white", markeredgewidth=0.8,
                      zorder=zorder,
                      label="OLS solution θ*" if label else None)
    star.set_gid("star")
    return star


def draw_surface(results: Results, arrays: Mapping[str, np.ndarray],
                 width: float = TEXT_WIDTH_IN * 0.6) -> Drawn:
    """The loss surface in 3D over the configured grid, the OLS minimum starred."""
    t0, t1, grid = surface_grid(results, arrays)
    fig = Figure(figsize=(width, width * 2.9 / 3.9))
    ax = fig.add_subplot(projection="3d")
    if grid is not None:
        t0, t1, grid = downsample(t0, t1, grid, limit=MAX_3D_GRID)
        m0, m1 = np.meshgrid(t0, t1)
        surf = ax.plot_surface(m0, m1, grid, cmap=CMAP, linewidth=0, antialiased=False,
                               rcount=len(t1), ccount=len(t0))
        surf.set_rasterized(True)
    star = mark_ols(ax, results, label=False, size=10, z=float(results.ols.loss))
    ax.set_xlabel("θ₀ (intercept)", labelpad=1)
    ax.set_ylabel("θ₁ (slope)", labelpad=1)
    ax.set_zlabel(f"loss {LOSS}", labelpad=1)
    ax.tick_params(labelsize=MIN_FONT_PT, pad=0)
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_major_locator(MaxNLocator(4))
    ax.view_init(elev=28, azim=-60)
    ax.set_box_aspect(None, zoom=0.86)  # keeps the axis labels inside the figure
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=1)
    r0, r1 = results.config.surface.theta0, results.config.surface.theta1
    lowest = (", whose lowest point, marked with a star, is the OLS solution"
              if star is not None else "")
    alt = (f"A 3D view of the loss over θ₀ from {fmt_rate(r0[0])} to {fmt_rate(r0[1])} and θ₁ "
           f"from {fmt_rate(r1[0])} to {fmt_rate(r1[1])}: {valley_shape(results)}{lowest}.")
    minimum = ("" if results.surface.min_loss is None
               else f" (lowest value on the grid {fmt_num(results.surface.min_loss)})")
    where = (f"; the star marks the OLS solution θ* = {short_theta(ols_theta(results))}"
             if star is not None else "")
    caption = f"The loss surface {LOSS}(θ₀, θ₁) over the grid{minimum}{where}."
    return Drawn(fig, alt, caption)


def _rasterize_below_zero(ax: Axes, *layers: ContourSet) -> None:
    """Draw the contour layers as one image inside the vector figure.

    Through the axes' rasterization z-order, not ``set_rasterized``: matplotlib before
    3.11 ignores that on a ContourSet (and warns on stderr)."""
    for layer in layers:
        layer.set_zorder(-1)
    ax.set_rasterization_zorder(0)


def _path_line(ax: Axes, run: Run, index: int, box: Box, *, markers: bool,
               colour: str | None = None, width: float = 1.3, zorder: float = 4,
               label: str | None = None) -> Line2D:
    style = run_style(index)
    path = finite_path(run, box)
    drawn = drawn_steps(run, path)
    line = path if drawn is None else path[drawn]
    (artist,) = ax.plot(line[:, 0], line[:, 1], color=colour or style["color"],
                        linestyle=style["linestyle"] if colour is None else "-",
                        linewidth=width, marker=style["marker"] if markers else None,
                        markersize=2.8, markevery=max(1, len(line) // 40), zorder=zorder,
                        label=label)
    return artist


def _start_marker(ax: Axes, run: Run, index: int, box: Box) -> Line2D | None:
    start = finite_path(run, box)[0]
    if not np.all(np.isfinite(start)):
        return None
    (artist,) = ax.plot([start[0]], [start[1]], marker="o", markersize=7,
                        markerfacecolor="white", markeredgecolor=run_style(index)["color"],
                        markeredgewidth=1.6, linestyle="none", zorder=5)
    return artist


def _end_of(run: Run, box: Box) -> np.ndarray | None:
    """The run's last finite theta, if it moved and the point lies inside ``box``."""
    path = finite_path(run, box)
    last = last_finite(path)
    if last is None or last == 0:
        return None
    end = path[last]
    inside = box[0] <= end[0] <= box[1] and box[2] <= end[1] <= box[3]
    return end if inside else None


def _window_exit(run: Run, box: Box) -> int | None:
    """The step from which a run stays outside ``box`` (None if it ends inside)."""
    path = finite_path(run, box)
    inside = (np.all(np.isfinite(path), axis=1)
              & (path[:, 0] >= box[0]) & (path[:, 0] <= box[1])
              & (path[:, 1] >= box[2]) & (path[:, 1] <= box[3]))
    return _first_exit(inside)


def _background(ax: Axes, t0: np.ndarray, t1: np.ndarray, grid: np.ndarray, *,
                log: bool) -> None:
    """Filled contours and white contour lines, both as one image."""
    floor = max(float(np.nanmin(grid)), 1e-12)
    top = float(np.nanmax(grid))
    if log:
        levels = log_levels(floor, top)
        filled = ax.contourf(t0, t1, grid, levels=levels, norm=LogNorm(), cmap=CMAP, alpha=0.6)
        lines = ax.contour(t0, t1, grid, levels=levels, colors="white", linewidths=0.4,
                           alpha=0.7)
    else:  # quadratic spacing: rings packed near the floor, where the paths end
        levels = floor + (max(top, floor * 1.0001) - floor) * np.linspace(0, 1, 16)[1:] ** 2
        filled = ax.contourf(t0, t1, grid, levels=np.concatenate([[floor], levels]),
                             cmap=CMAP, alpha=0.6)
        lines = ax.contour(t0, t1, grid, levels=levels, colors="white", linewidths=0.4,
                           alpha=0.7)
    _rasterize_below_zero(ax, filled, lines)


def _wrap(text: str, width_in: float, size: float) -> str:
    """Break a panel title to the panel's width (DejaVu Sans: ~0.62 em a glyph, spaces and
    digits included)."""
    chars = max(12, int(0.9 * width_in * 72 / (0.62 * size)))
    # "(η = 0.1)" and "step 3" stay on one line: their spaces are held while wrapping
    held = re.sub(r"\([^()]*\)|step \d+", lambda m: m.group(0).replace(" ", "\0"), text)
    return "\n".join(textwrap.wrap(held, chars)).replace("\0", " ") or text


def _contour_grid(runs: int, width: float) -> tuple[int, int]:
    """(rows, columns) of the contour figure: the whole grid, then one zoom per run."""
    columns = 2 if runs == 1 or width < TEXT_WIDTH_IN else 3
    return math.ceil((runs + 1) / columns), columns


def draw_contour(results: Results, arrays: Mapping[str, np.ndarray],
                 width: float = TEXT_WIDTH_IN) -> Drawn:
    """The contour map of the whole grid with every path, then one zoomed panel per run
    (every panel the same window), each run's end marker clear of the star."""
    runs = results.runs
    rows, columns = _contour_grid(len(runs), width)
    panel = width / columns
    legend_rows = math.ceil((len(runs) + 4) / (3 if width >= TEXT_WIDTH_IN else 2))
    fig = Figure(figsize=(width, rows * (0.9 * panel + 0.5) + 0.17 * legend_rows + 0.1),
                 layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    flat = list(axes.flat)
    for spare in flat[len(runs) + 1:]:
        spare.set_axis_off()
    overview, zooms = flat[0], flat[1: len(runs) + 1]
    as_image = _hides_theta_star(results)

    t0, t1, grid = surface_grid(results, arrays)
    full = (float(t0[0]), float(t0[-1]), float(t1[0]), float(t1[-1]))
    if grid is not None:
        _background(overview, *downsample(t0, t1, grid, limit=MAX_CONTOUR_GRID), log=True)
    for i, run in enumerate(runs):
        line = _path_line(overview, run, i, full, markers=False, label=run_label(run))
        start = _start_marker(overview, run, i, full)
        for artist in (line, start):
            if artist is not None:
                artist.set_rasterized(as_image)
    mark_ols(overview, results)
    overview.set_title("the whole grid")

    box = zoom_box(results)
    overview.add_patch(Rectangle((box[0], box[2]), box[1] - box[0], box[3] - box[2],
                                 fill=False, edgecolor="black", alpha=0.6, linewidth=1.0,
                                 zorder=7))
    window = window_loss(results, arrays, box, 160)
    titles = []
    for i, (ax, run) in enumerate(zip(zooms, runs, strict=True)):
        if window is not None:
            _background(ax, *window, log=False)
        for j, other in enumerate(runs):
            if j != i:
                _path_line(ax, other, j, box, markers=False, colour=OTHER_RUNS, width=0.8,
                           zorder=2).set_rasterized(as_image)
        _path_line(ax, run, i, box, markers=True).set_rasterized(as_image)
        start = _start_marker(ax, run, i, box)
        if start is not None:
            start.set_rasterized(as_image)
        mark_ols(ax, results, label=False)
        title = run_label(run)
        leaves = _window_exit(run, box)
        if leaves is not None:
            title += f", leaves the window at step {leaves}"
        titles.append(title)
        ax.set_title(_wrap(title, panel, 7.5), fontsize=7.5)
    for ax, limits in [(overview, full)] + [(z, box) for z in zooms]:
        ax.set_xlim(limits[0], limits[1])
        ax.set_ylim(limits[2], limits[3])
        ax.set_aspect("equal")
        ax.grid(False)
    for k, ax in enumerate(flat[: len(runs) + 1]):
        lowest_in_column = k + columns > len(runs)
        ax.set_xlabel("θ₀ (intercept)" if lowest_in_column or k == 0 else "")
        if k == 1:  # its scale on the right: clear of the connectors from the whole grid
            ax.yaxis.tick_right()
            ax.yaxis.set_label_position("right")
        if k <= 1 or k % columns == 0:
            ax.set_ylabel("θ₁ (slope)")
        else:  # the same window as the panel before it, whose scale it shares
            ax.tick_params(labelleft=False)

    handles, labels = overview.get_legend_handles_labels()
    handles += [Line2D([], [], marker="o", markerfacecolor="white", markeredgecolor="#444",
                       linestyle="none", markersize=6),
                Line2D([], [], marker="o", color="#444", markeredgecolor="black",
                       linestyle="none", markersize=5)]
    labels += ["start", "end (filled marker)"]
    if len(runs) > 1:
        handles.append(Line2D([], [], color=OTHER_RUNS, linewidth=0.8))
        labels.append("the other runs")
    fig.legend(handles, labels, loc="outside lower center",
               ncol=min(len(labels), 3 if width >= TEXT_WIDTH_IN else 2))

    settle(fig)
    for i, (ax, run) in enumerate(zip(zooms, runs, strict=True)):
        _end_marker(fig, ax, run, i, box, as_image)
    _connect(overview, zooms[0], box)  # the first zoom is always beside the whole grid

    shape = valley_shape(results)
    star_words = " and the OLS minimum (a star)" if not as_image else ""
    count = _NUMBERS.get(len(runs), str(len(runs)))
    alt = (f"Contour maps of the loss over (θ₀, θ₁). The first shows the whole grid: "
           f"{shape}, with every run's path{star_words}. "
           + ("The second shows a zoom on the path" if len(runs) == 1
              else f"The next {count} show a zoom on the paths, one run each, the other runs in "
                   f"grey")
           + ": each path of parameter values runs from its start (open circle) to its end "
             "(filled marker).")
    caption = ("Contour map of the loss (log-spaced levels) over the whole grid with every "
               "run’s path; then "
               + ("a zoom on the outlined window" if len(runs) == 1
                  else "a zoom on the outlined window for each run, the other runs in grey")
               + ", drawn from "
               + ("the exact quadratic form of the loss" if not as_image
                  else "the loss computed on the grid")
               + ". Open circles are the starts, filled markers the ends"
               + (", the star the OLS solution θ*" if not as_image else "")
               + "; an end that would hide another marker is drawn beside it, joined by a thin "
                 "line to where the run ended."
               + (" The paths are drawn as an image." if as_image else ""))
    return Drawn(fig, alt, caption)


def _end_marker(fig: Figure, ax: Axes, run: Run, index: int, box: Box,
                as_image: bool) -> None:
    """The run's end marker, moved aside (with a leader to the true end) where it would
    sit on the star."""
    end = _end_of(run, box)
    if end is None:
        return
    radius = marker_radius(END_SIZE, END_EDGE)
    obstacles = [marker_disc(line) for line in ax.get_lines() if line.get_gid() == "star"]
    anchor = to_points(fig, ax.transData.transform(end))
    (dx, dy), = dodge([(float(anchor[0]), float(anchor[1]))], radius, obstacles,
                      axes_box(ax), line_paths(fig, ax.get_lines()))
    style = run_style(index)
    if (dx, dy) != (0.0, 0.0):
        leader = ax.annotate("", xy=(end[0], end[1]), xytext=(dx, dy),
                             textcoords="offset points", zorder=5.5,
                             arrowprops={"arrowstyle": "-", "color": style["color"],
                                         "linewidth": 0.8, "shrinkA": 0, "shrinkB": 0})
        if leader.arrow_patch is not None:
            leader.arrow_patch.set_rasterized(as_image)
    (marker,) = ax.plot([end[0]], [end[1]], marker=style["marker"], markersize=END_SIZE,
                        color=style["color"], markeredgecolor="black",
                        markeredgewidth=END_EDGE, linestyle="none", zorder=7,
                        transform=shifted(fig, ax.transData, dx, dy))
    marker.set_gid(f"end:{index}")
    marker.set_rasterized(as_image)


def _connect(overview: Axes, zoom: Axes, box: Box) -> None:
    """Lines from the window's right-hand corners to the zoom's left-hand corners."""
    for y, corner in ((box[3], (0.0, 1.0)), (box[2], (0.0, 0.0))):
        overview.figure.add_artist(ConnectionPatch(
            xyA=(box[1], y), coordsA=overview.transData, xyB=corner,
            coordsB=zoom.transAxes, color="black", alpha=0.6, linewidth=0.8, zorder=8))


def draw_trajectories_3d(results: Results, width: float = TEXT_WIDTH_IN) -> Drawn:
    """Each run's path over a window of the loss surface, one 3D panel per run."""
    runs = results.runs
    wide = width >= TEXT_WIDTH_IN
    ncols = min(len(runs), (2 if len(runs) <= 2 else 3) if wide else 2)
    nrows = math.ceil(len(runs) / ncols)
    row_height = (3.0 if ncols <= 2 else 2.25) if wide else 2.1
    fig = Figure(figsize=(width, row_height * nrows))
    box = zoom_box(results, pad=0.2)
    window = window_loss(results, {}, box, 40)
    as_image = _hides_theta_star(results)
    top = float(window[2].max()) if window is not None else None
    leaving: dict[int, int] = {}  # run index -> the step after which it stays outside
    panels: list[tuple[Axes, Line2D, int]] = []
    for i, run in enumerate(runs):
        style = run_style(i)
        ax = fig.add_subplot(nrows, ncols, i + 1, projection="3d")
        if window is not None:
            m0, m1 = np.meshgrid(window[0], window[1])
            surf = ax.plot_surface(m0, m1, window[2], cmap=CMAP, alpha=0.45, linewidth=0,
                                   antialiased=False, rcount=40, ccount=40)
            surf.set_rasterized(True)
        path = finite_path(run, box)
        inside = ((path[:, 0] >= box[0]) & (path[:, 0] <= box[1])
                  & (path[:, 1] >= box[2]) & (path[:, 1] <= box[3]))
        losses = losses_of(run)
        ceiling = top if top is not None else float(np.nanmax(losses[inside])) \
            if np.any(inside & np.isfinite(losses)) else float(results.ols.loss) + 1.0
        shown = np.isfinite(losses) & (losses <= ceiling) & inside
        exit_step = _first_exit(shown)
        if exit_step is not None:  # the rest of the path is outside the window
            shown[exit_step:] = False
            leaving[i] = exit_step
        xs = np.where(shown, path[:, 0], np.nan)
        ys = np.where(shown, path[:, 1], np.nan)
        zs = np.where(shown, losses, np.nan)
        drawn = drawn_steps(run, zs)
        if drawn is not None:  # a long run: a few thousand points draw the same line
            xs, ys, zs = xs[drawn], ys[drawn], zs[drawn]
        (line,) = ax.plot(xs, ys, zs, color=style["color"], marker=style["marker"],
                          markersize=3, linewidth=1.4, zorder=10)
        line.set_rasterized(as_image)
        mark_ols(ax, results, label=False, size=9, z=float(results.ols.loss), zorder=11)
        ax.computed_zorder = False  # surface, then path, then star (not sorted by depth)
        ax.set_xlim(box[0], box[1])
        ax.set_ylim(box[2], box[3])
        ax.set_zlim(float(results.ols.loss), ceiling)
        title = run_label(run)
        if exit_step is not None:
            title += f", leaves this window at step {exit_step}"
        ax.set_title(_wrap(title, width / ncols, 7.5), fontsize=7.5, pad=0)
        ax.set_xlabel("θ₀", labelpad=-5)
        ax.set_ylabel("θ₁", labelpad=-5)
        ax.set_zlabel(f"loss {LOSS}", labelpad=-5)
        ax.tick_params(labelsize=MIN_FONT_PT, pad=-2)
        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
            axis.set_major_locator(MaxNLocator(3))
        ax.view_init(elev=38, azim=-58)
        ax.set_box_aspect(None, zoom=0.82)  # room for the z label inside the panel
        if exit_step is None:
            panels.append((ax, line, i))
    fig.subplots_adjust(left=0.0, right=0.97 if wide else 0.9, bottom=0.02,
                        top=1 - 0.3 / fig.get_figheight(),
                        wspace=0.08, hspace=0.15 if wide else 0.3)
    settle(fig)
    for ax, line, i in panels:
        _end_marker_3d(fig, ax, line, i, as_image)
    bottom = "the starred OLS minimum" if not as_image else "the bottom of the bowl"
    stays = [r for i, r in enumerate(runs) if i not in leaving]
    falling = [r.name for r in stays if not r.diverged and _loss_fell(r)]
    other = [r.name for r in stays if r.diverged or not _loss_fell(r)]
    words = []
    if falling:
        words.append(f"{_listed(falling)} {'descends' if len(falling) == 1 else 'descend'} "
                     f"towards {bottom}")
    if other:
        words.append(f"{_listed(other)} {'ends' if len(other) == 1 else 'end'} no lower than "
                     f"{'it starts' if len(other) == 1 else 'they start'}")
    for i, step in leaving.items():
        rising = runs[i].diverged or not _loss_fell(runs[i])
        words.append(f"{runs[i].name} leaves the plotted piece at step {step}"
                     + (" (its loss rises: it diverges)" if rising else " for good"))
    alt = ("One 3D plot per run: a bowl-shaped piece of the loss surface around the minimum, "
           "with the run's sequence of (θ₀, θ₁, loss) points drawn as a connected line from "
           "its start: " + "; ".join(words) + ".")
    caption = ("Each run’s path over the loss surface (the notebook’s view), drawn in the "
               "window of the zoomed contour map"
               + ("; the star is the OLS minimum θ*" if not as_image else "")
               + ". A filled marker is each run’s end; one that would hide the star is drawn "
                 "beside it, joined by a thin line."
               + (" A path that leaves the window is drawn up to where it leaves."
                  if leaving else ""))
    return Drawn(fig, alt, caption)


def _loss_fell(run: Run) -> bool:
    """Whether the run's last finite loss is below its first."""
    losses = losses_of(run)
    finite = losses[np.isfinite(losses)]
    return len(finite) > 1 and bool(finite[-1] < finite[0])


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _end_marker_3d(fig: Figure, ax: Axes, path: Line2D, index: int, as_image: bool) -> None:
    """The run's end marker over its 3D path, placed in the figure's plane (the panel is
    drawn once: its projection is known) and moved clear of the star."""
    projected = np.asarray(path.get_xydata(), dtype=float)  # as last drawn: 2D projection
    ok = np.flatnonzero(np.all(np.isfinite(projected), axis=1))
    if len(ok) < 2:
        return
    anchor = to_points(fig, ax.transData.transform(projected[ok[-1]]))
    obstacles = [marker_disc(line) for line in ax.get_lines() if line.get_gid() == "star"]
    radius = marker_radius(6.0, END_EDGE)
    (dx, dy), = dodge([(float(anchor[0]), float(anchor[1]))], radius, obstacles,
                      axes_box(ax), [to_points(fig, ax.transData.transform(projected[ok]))])
    to_figure = fig.transFigure.inverted()
    at = to_figure.transform(np.array([anchor, anchor + np.array([dx, dy])]) * fig.dpi / 72.0)
    style = run_style(index)
    if (dx, dy) != (0.0, 0.0):
        leader = Line2D(at[:, 0], at[:, 1], color=style["color"], linewidth=0.8, zorder=5.5,
                        transform=fig.transFigure)
        leader.set_rasterized(as_image)
        fig.add_artist(leader)
    marker = Line2D([at[1, 0]], [at[1, 1]], marker=style["marker"], markersize=6.0,
                    color=style["color"], markeredgecolor="black", markeredgewidth=END_EDGE,
                    linestyle="none", zorder=7, transform=fig.transFigure)
    marker.set_gid(f"end:{index}")
    marker.set_rasterized(as_image)
    fig.add_artist(marker)


def _first_exit(shown: np.ndarray) -> int | None:
    """The step after which a path never comes back into the window, if it leaves for good."""
    if shown.all() or not shown.any():
        return None if shown.all() else 0
    last_in = int(np.nonzero(shown)[0][-1])
    return last_in + 1 if last_in + 1 < len(shown) else None

