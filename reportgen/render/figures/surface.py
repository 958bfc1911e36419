"""The loss surface in 3D, the contour map with every path, and each path over the surface."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from reportgen.render.figures.reading import (
    Box,
    downsample,
    drawn_steps,
    finite_path,
    last_finite,
    losses_of,
    ols_theta,
    quadratic_loss,
    short_theta,
    surface_grid,
    zoom_box,
)
from reportgen.render.figures.style import (
    CMAP,
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
from reportgen.store.results import Results


def mark_ols(ax: Axes, results: Results, *, label: bool = True) -> None:
    """Star the OLS solution on a 2D axes."""
    t = ols_theta(results)
    ax.plot([t[0]], [t[1]], linestyle="none", marker="*", markersize=11, color=OLS_COLOUR,
            markeredgecolor="white", markeredgewidth=0.8, zorder=6,
            label="OLS solution" if label else None)


def draw_surface(results: Results, arrays: Mapping[str, np.ndarray]) -> Drawn:
    """The loss surface in 3D over the configured grid, the OLS minimum starred."""
    t0, t1, grid = downsample(surface_grid(results, arrays), limit=MAX_3D_GRID)
    m0, m1 = np.meshgrid(t0, t1)
    fig = Figure(figsize=(TEXT_WIDTH_IN * 0.6, 2.9))
    ax = fig.add_subplot(projection="3d")
    surf = ax.plot_surface(m0, m1, grid, cmap=CMAP, linewidth=0, antialiased=False,
                           rcount=len(t1), ccount=len(t0))
    surf.set_rasterized(True)
    star = ols_theta(results)
    ax.plot([star[0]], [star[1]], [results.ols.loss], marker="*", markersize=10,
            color=OLS_COLOUR, markeredgecolor="white", linestyle="none", zorder=10)
    ax.set_xlabel("θ₀ (intercept)", labelpad=1)
    ax.set_ylabel("θ₁ (slope)", labelpad=1)
    ax.set_zlabel("loss", labelpad=1)
    ax.tick_params(labelsize=MIN_FONT_PT, pad=0)
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_major_locator(MaxNLocator(4))
    ax.view_init(elev=28, azim=-60)
    ax.set_box_aspect(None, zoom=0.86)  # keeps the axis labels inside the figure
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=1)
    r0, r1 = results.config.surface.theta0, results.config.surface.theta1
    alt = (f"A 3D view of the loss over θ₀ from {fmt_rate(r0[0])} to {fmt_rate(r0[1])} and θ₁ "
           f"from {fmt_rate(r1[0])} to {fmt_rate(r1[1])}: a bowl stretched along one diagonal "
           f"into a long valley, whose lowest point, marked with a star, is the OLS solution.")
    caption = (f"The loss surface L(θ₀, θ₁) over the grid (minimum on the grid "
               f"{fmt_num(results.surface.min_loss)}); the star marks the OLS solution "
               f"{short_theta(star)}.")
    return Drawn(fig, alt, caption)


def draw_paths(ax: Axes, results: Results, box: Box,
                *, label: bool, markers: bool = True) -> None:
    for i, run in enumerate(results.runs):
        style = run_style(i)
        path = finite_path(run, box)
        drawn = drawn_steps(run, path)
        line = path if drawn is None else path[drawn]
        every = max(1, len(line) // 40)
        ax.plot(line[:, 0], line[:, 1], color=style["color"], linestyle=style["linestyle"],
                linewidth=1.3, marker=style["marker"] if markers else None, markersize=2.8,
                markevery=every, zorder=4, label=run_label(run) if label else None)
        start = path[0]
        if np.all(np.isfinite(start)):
            ax.plot([start[0]], [start[1]], marker="o", markersize=7, markerfacecolor="white",
                    markeredgecolor=style["color"], markeredgewidth=1.6, linestyle="none", zorder=5)
        last = last_finite(path)
        if last is not None and last > 0:
            end = path[last]
            ax.plot([end[0]], [end[1]], marker=style["marker"], markersize=7,
                    color=style["color"], markeredgecolor="black", markeredgewidth=0.6,
                    linestyle="none", zorder=5)


def rasterize(ax: Axes, filled: ContourSet) -> None:
    """Draw the filled contours as an image inside the vector figure.

    Through the axes' rasterization z-order, not ``set_rasterized``: matplotlib before
    3.11 ignores that on a ContourSet (and warns on stderr)."""
    filled.set_zorder(-1)
    ax.set_rasterization_zorder(0)


def draw_contour(results: Results, arrays: Mapping[str, np.ndarray]) -> Drawn:
    """Contour maps of the whole grid and of a zoom, with every run's path."""
    t0, t1, grid = downsample(surface_grid(results, arrays), limit=MAX_CONTOUR_GRID)
    fig = Figure(figsize=(TEXT_WIDTH_IN, 3.6), layout="constrained")
    # equal-aspect panels: leave headroom, or constrained layout lets the titles clip
    fig.get_layout_engine().set(rect=(0, 0, 1, 0.96))  # type: ignore[call-arg, union-attr]
    ax, zoom = fig.subplots(1, 2)
    floor = max(float(np.nanmin(grid)), 1e-12)
    levels = log_levels(floor, float(np.nanmax(grid)))
    filled = ax.contourf(t0, t1, grid, levels=levels, norm=LogNorm(), cmap=CMAP, alpha=0.6)
    rasterize(ax, filled)
    ax.contour(t0, t1, grid, levels=levels, colors="white", linewidths=0.4, alpha=0.7)
    full = (float(t0[0]), float(t0[-1]), float(t1[0]), float(t1[-1]))
    draw_paths(ax, results, full, label=True, markers=False)
    mark_ols(ax, results)
    ax.set_xlim(full[0], full[1])
    ax.set_ylim(full[2], full[3])
    ax.set_aspect("equal")
    ax.grid(False)
    ax.set_title("the whole grid")

    box = zoom_box(results)
    z0 = np.linspace(box[0], box[1], 160)
    z1 = np.linspace(box[2], box[3], 160)
    zm0, zm1 = np.meshgrid(z0, z1)
    zgrid = quadratic_loss(results)(zm0, zm1)
    zfloor = float(results.ols.loss)
    zlevels = zfloor + (float(zgrid.max()) - zfloor) * np.linspace(0, 1, 16)[1:] ** 2
    zoom_filled = zoom.contourf(z0, z1, zgrid, levels=np.concatenate([[zfloor], zlevels]),
                                cmap=CMAP, alpha=0.6)
    rasterize(zoom, zoom_filled)
    zoom.contour(z0, z1, zgrid, levels=zlevels, colors="white", linewidths=0.4, alpha=0.7)
    draw_paths(zoom, results, box, label=False)
    mark_ols(zoom, results, label=False)
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
    return Drawn(fig, alt, caption)


def draw_trajectories_3d(results: Results) -> Drawn:
    """Each run's path over a window of the loss surface, one 3D panel per run."""
    runs = results.runs
    ncols = min(len(runs), 2 if len(runs) <= 2 else 3)
    nrows = math.ceil(len(runs) / ncols)
    row_height = 3.0 if ncols <= 2 else 2.25
    fig = Figure(figsize=(TEXT_WIDTH_IN, row_height * nrows))
    box = zoom_box(results, pad=0.2)
    z0 = np.linspace(box[0], box[1], 40)
    z1 = np.linspace(box[2], box[3], 40)
    m0, m1 = np.meshgrid(z0, z1)
    loss = quadratic_loss(results)
    grid = loss(m0, m1)
    top = float(grid.max())
    leaving: list[str] = []
    for i, run in enumerate(runs):
        style = run_style(i)
        ax = fig.add_subplot(nrows, ncols, i + 1, projection="3d")
        surf = ax.plot_surface(m0, m1, grid, cmap=CMAP, alpha=0.45, linewidth=0,
                               antialiased=False, rcount=40, ccount=40)
        surf.set_rasterized(True)
        path = finite_path(run, box)
        inside = ((path[:, 0] >= box[0]) & (path[:, 0] <= box[1])
                  & (path[:, 1] >= box[2]) & (path[:, 1] <= box[3]))
        losses = losses_of(run)
        shown = np.isfinite(losses) & (losses <= top) & inside
        exit_step = _first_exit(shown)
        if exit_step is not None:  # the rest of the path is outside the window
            shown[exit_step:] = False
            leaving.append(f"{run.name} leaves it at step {exit_step}")
        xs = np.where(shown, path[:, 0], np.nan)
        ys = np.where(shown, path[:, 1], np.nan)
        zs = np.where(shown, losses, np.nan)
        drawn = drawn_steps(run, zs)
        if drawn is not None:  # a long run: a few thousand points draw the same line
            xs, ys, zs = xs[drawn], ys[drawn], zs[drawn]
        ax.plot(xs, ys, zs, color=style["color"], marker=style["marker"], markersize=3,
                linewidth=1.4, zorder=10)
        star = ols_theta(results)
        ax.plot([star[0]], [star[1]], [results.ols.loss], marker="*", markersize=9,
                color=OLS_COLOUR, markeredgecolor="white", linestyle="none", zorder=11)
        ax.set_xlim(box[0], box[1])
        ax.set_ylim(box[2], box[3])
        ax.set_zlim(float(results.ols.loss), top)
        title = run_label(run)
        if exit_step is not None:
            title += f"\nleaves this window at step {exit_step}"
        ax.set_title(title, fontsize=7.5, pad=0)
        ax.set_xlabel("θ₀", labelpad=-5)
        ax.set_ylabel("θ₁", labelpad=-5)
        ax.set_zlabel("loss", labelpad=-5)
        ax.tick_params(labelsize=MIN_FONT_PT, pad=-2)
        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
            axis.set_major_locator(MaxNLocator(3))
        ax.view_init(elev=38, azim=-58)
        ax.set_box_aspect(None, zoom=0.82)  # room for the z label inside the panel
    fig.subplots_adjust(left=0.0, right=0.97, bottom=0.02, top=0.93, wspace=0.08, hspace=0.15)
    away = ("; " + "; ".join(leaving) + " (it diverges)") if leaving else ""
    alt = ("One 3D plot per run: a bowl-shaped piece of the loss surface around the minimum, "
           "with the run's sequence of (θ₀, θ₁, loss) points drawn as a connected line from "
           f"its start towards the starred OLS minimum{away}.")
    caption = ("Each run’s path over the loss surface (the notebook’s view), drawn in the "
               "window of the zoomed contour map; the star is the OLS minimum."
               + (" A path that leaves the window is drawn up to where it leaves."
                  if leaving else ""))
    return Drawn(fig, alt, caption)


def _first_exit(shown: np.ndarray) -> int | None:
    """The step after which a path never comes back into the window, if it leaves for good."""
    if shown.all() or not shown.any():
        return None if shown.all() else 0
    last_in = int(np.nonzero(shown)[0][-1])
    return last_in + 1 if last_in + 1 < len(shown) else None
