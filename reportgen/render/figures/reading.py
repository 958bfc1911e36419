"""Reading the plain results for drawing: arrays with None as NaN, paths, windows, limits.

The loss of linear least squares is an exact quadratic,
``L(theta) = L* + 1/2 (theta - theta*)^T H (theta - theta*)``, so zoomed views are drawn
from the OLS solution and the Hessian in the results, not interpolated from the grid.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from reportgen.render.figures.style import MAX_DRAWN_POINTS
from reportgen.store.results import Results, Run, Twin


def as_array(values: Sequence[Any] | np.ndarray | None) -> np.ndarray:
    """A float array with ``None`` (non-finite in the results) as NaN."""
    if values is None:
        return np.array([], dtype=float)
    return np.array(values, dtype=float)  # numpy reads None as NaN for a float dtype


def thetas_of(run: Run | Twin) -> np.ndarray:
    """A run's (steps + 1, 2) parameter path, NaN where it overflowed."""
    path = as_array(run.thetas)
    return path.reshape(-1, 2) if path.size else np.zeros((0, 2))


def losses_of(run: Run) -> np.ndarray:
    """A run's full-data loss per step, NaN where it overflowed."""
    return as_array(run.losses)


def ols_theta(results: Results) -> np.ndarray | None:
    """theta*, or None in a copy that withholds it (its figures then draw no star and no
    OLS line, and nothing else placed from theta*)."""
    if results.ols.theta is None:
        return None
    return np.asarray(results.ols.theta, dtype=float)


def quadratic_loss(results: Results) -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
    """The exact loss ``J(t0, t1)`` from the OLS solution and the Hessian, or None where
    theta* is withheld."""
    star = ols_theta(results)
    if star is None:
        return None
    floor = float(results.ols.loss)
    h = np.asarray(results.diagnostics.hessian, dtype=float)

    def loss(t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
        d0, d1 = t0 - star[0], t1 - star[1]
        return floor + 0.5 * (h[0, 0] * d0 * d0 + 2 * h[0, 1] * d0 * d1 + h[1, 1] * d1 * d1)

    return loss


def window_loss(results: Results, arrays: Mapping[str, np.ndarray], box: Box,
                points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(theta0 axis, theta1 axis, loss) over the window ``box``: from the exact quadratic
    on a ``points``-square grid, or, where theta* is withheld, the stored grid's lines that
    fall in the window (None if fewer than two do either way): a copy without theta* draws
    no surface centred on it to more digits than the grid has."""
    exact = quadratic_loss(results)
    if exact is not None:
        z0 = np.linspace(box[0], box[1], points)
        z1 = np.linspace(box[2], box[3], points)
        m0, m1 = np.meshgrid(z0, z1)
        return z0, z1, exact(m0, m1)
    t0, t1, grid = surface_grid(results, arrays)
    if grid is None:
        return None
    c0 = (t0 >= box[0]) & (t0 <= box[1])
    c1 = (t1 >= box[2]) & (t1 <= box[3])
    if c0.sum() < 2 or c1.sum() < 2:
        return None
    return t0[c0], t1[c1], grid[np.ix_(c1, c0)]


def surface_grid(
    results: Results, arrays: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(theta0 axis, theta1 axis, loss[i, j] = J(theta0[j], theta1[i])).

    The grid comes from results.json, else from the array it names (``surface.npy``,
    passed in ``arrays``), else from the exact quadratic; None where none of them is there
    (a copy that withholds theta* and keeps no grid).
    """
    surface = results.surface
    t0 = np.asarray(surface.theta0, dtype=float)
    t1 = np.asarray(surface.theta1, dtype=float)
    stored = arrays.get(surface.loss_file or "")
    exact = quadratic_loss(results)
    if surface.loss is not None:
        grid: np.ndarray | None = np.asarray(surface.loss, dtype=float)
    elif stored is not None and stored.shape == (len(t1), len(t0)):
        grid = np.asarray(stored, dtype=float)
    elif exact is not None:  # the grid lives elsewhere: the quadratic is exact, so draw from it
        m0, m1 = np.meshgrid(t0, t1)
        grid = exact(m0, m1)
    else:
        grid = None
    return t0, t1, grid


def downsample(t0: np.ndarray, t1: np.ndarray, grid: np.ndarray,
               limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every k-th grid line, so that no axis has more than ``limit`` points."""
    s0 = max(1, math.ceil(len(t0) / limit))
    s1 = max(1, math.ceil(len(t1) / limit))
    return t0[::s0], t1[::s1], grid[::s1, ::s0]


Box = tuple[float, float, float, float]  # theta0 from, to; theta1 from, to


def finite_path(run: Run, box: Box | None = None) -> np.ndarray:
    """The run's thetas, with non-finite rows (and rows far outside ``box``) as NaN.

    Matplotlib splits a line at NaN and writes no NaN into the SVG; clipping far points
    keeps a divergent run from putting 1e300 into path data.
    """
    path = thetas_of(run).copy()
    bad = ~np.all(np.isfinite(path), axis=1)
    if box is not None:
        x0, x1, y0, y1 = box
        wx, wy = x1 - x0, y1 - y0
        far = (path[:, 0] < x0 - 10 * wx) | (path[:, 0] > x1 + 10 * wx) | \
              (path[:, 1] < y0 - 10 * wy) | (path[:, 1] > y1 + 10 * wy)
        bad |= np.nan_to_num(far, nan=True).astype(bool)
    path[bad] = np.nan
    return path


def thinned(count: int, keep: Iterable[int] = ()) -> np.ndarray | None:
    """The indices to draw of a line of ``count`` points, or None to draw them all.

    Up to ``MAX_DRAWN_POINTS`` every point is drawn. Above, half the picks are spaced
    evenly and half on a log scale (the early steps, where a run moves most), plus the
    first and last points and every index in ``keep``.
    """
    if count <= MAX_DRAWN_POINTS:
        return None
    half = MAX_DRAWN_POINTS // 2
    even = np.linspace(0, count - 1, half)
    early = np.geomspace(1, count, half) - 1
    extra = [k for k in keep if 0 <= k < count]
    picks = np.concatenate([even, early, [0, count - 1], extra])
    return np.unique(np.rint(picks).astype(int))


def drawn_steps(run: Run, values: np.ndarray) -> np.ndarray | None:
    """:func:`thinned` for a run's per-step ``values`` (its path or its losses): keeps
    where it diverged, its last finite point and the edges of every overflow."""
    count = len(values)
    if count <= MAX_DRAWN_POINTS:
        return None
    ok = np.all(np.isfinite(values.reshape(count, -1)), axis=1)
    edges = np.flatnonzero(np.diff(ok.astype(np.int8)))[: MAX_DRAWN_POINTS // 8].tolist()
    keep = [*edges, *(k + 1 for k in edges)]
    if run.diverged_step is not None:
        keep.append(run.diverged_step)
    return thinned(count, keep)


def last_finite(values: np.ndarray) -> int | None:
    """The index of the last row (or element) that is finite throughout, or None."""
    ok = np.where(np.all(np.isfinite(values.reshape(len(values), -1)), axis=1))[0]
    return int(ok[-1]) if len(ok) else None


def zoom_box(results: Results, pad: float = 0.12) -> Box:
    """A window around the OLS point (where the copy has it), every start, and the paths of
    the converging runs.

    Diverging runs (flagged, or gradient descent above 2/λ_max) contribute only their start:
    their paths leave the window, clipped, instead of stretching it to the whole grid.
    """
    s = results.config.surface
    lim = (s.theta0[0], s.theta0[1], s.theta1[0], s.theta1[1])
    star = ols_theta(results)
    points = [] if star is None else [star[None, :]]
    for run in results.runs:
        path = thetas_of(run)
        if run.diverged or run.stable is False:
            path = path[:1]
        points.append(path[np.all(np.isfinite(path), axis=1)])
    shown = np.concatenate(points)
    shown = shown[(shown[:, 0] >= lim[0]) & (shown[:, 0] <= lim[1]) &
                  (shown[:, 1] >= lim[2]) & (shown[:, 1] <= lim[3])]
    if not len(shown):  # nothing to frame inside the grid: the grid itself
        return lim
    lo, hi = shown.min(axis=0), shown.max(axis=0)
    span = np.full(2, max(float(np.max(hi - lo)), 0.5))  # square: equal aspect, no distortion
    centre = (lo + hi) / 2
    half = span / 2 * (1 + 2 * pad)
    return (float(centre[0] - half[0]), float(centre[0] + half[0]),
            float(centre[1] - half[1]), float(centre[1] + half[1]))


def x_span(results: Results) -> np.ndarray:
    lo, hi = results.config.data.x_range
    return np.array([lo, hi], dtype=float)


def y_limits(results: Results) -> tuple[float, float]:
    s = results.data.summary
    if results.data.y is not None:
        y = np.asarray(results.data.y, dtype=float)
        lo, hi = float(y.min()), float(y.max())
    else:
        lo, hi = s.y_mean - 3 * s.y_std, s.y_mean + 3 * s.y_std
    pad = 0.08 * (hi - lo or 1.0)
    return lo - pad, hi + pad


def fit_limits(data_limits: tuple[float, float], thetas: Sequence[np.ndarray],
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


def short_theta(theta: Sequence[float | None] | np.ndarray | None, digits: int = 3) -> str:
    """A parameter pair for captions and labels, with true minus signs."""
    from reportgen.render.format import fmt_theta

    return fmt_theta(theta, digits)


def valley_shape(results: Results) -> str:
    """The loss surface in words, from the Hessian's shape (always in the results; only
    words come out, never a number): how stretched the bowl is and which way it runs."""
    h = np.asarray(results.diagnostics.hessian, dtype=float)
    values, vectors = np.linalg.eigh(h)
    low, high = float(values[0]), float(values[-1])
    stretch = high / low if low > 0 else math.inf
    if stretch >= 10:
        shape = "a long, narrow valley"
    elif stretch >= 3:
        shape = "an elongated bowl"
    else:
        shape = "a nearly round bowl"
    if stretch < 3:
        return shape
    # the valley's floor runs along the eigenvector of the smallest eigenvalue
    angle = math.degrees(math.atan2(vectors[1, 0], vectors[0, 0])) % 180
    if angle < 20 or angle > 160:
        way = "running along the θ₀ axis"
    elif 70 < angle < 110:
        way = "running along the θ₁ axis"
    elif angle < 90:
        way = "tilted up to the right"
    else:
        way = "tilted down to the right"
    return f"{shape} {way}"
