"""Properties of the loss surface (reportgen.surface): the vmapped, chunked grid is the
notebook's double loop, and the sufficient-statistics grid is the exact one.

The grid is deliberately not square (ROWS x COLS) so a transposed index cannot pass.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
import numpy_reference as ref
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import floats, samples
from tracing import counted_jit

from reportgen.numerics import model, surface

pytestmark = pytest.mark.property

N = 16
COLS, ROWS = 7, 5  # len(theta0), len(theta1)
EPS = np.finfo(np.float64).eps


xs = samples(N, 10.0)
ys = samples(N, 100.0)


@st.composite
def ranges(draw: st.DrawFn) -> tuple[float, float]:
    low = draw(floats(50.0))
    width = draw(st.floats(1e-3, 100.0, allow_nan=False, width=64))
    return low, low + width


exact_grid = counted_jit(surface.exact_grid, static_argnames=("batch",))
direct_grid = counted_jit(surface.direct_grid, static_argnames=("batch",))
stats_grid = counted_jit(surface.stats_grid)
statistics = counted_jit(model.statistics)


def notebook_loop(theta0: np.ndarray, theta1: np.ndarray, x: np.ndarray, y: np.ndarray):
    """The source notebook's double loop over np.meshgrid, point by point."""
    mesh0, mesh1 = np.meshgrid(theta0, theta1)
    grid = np.zeros_like(mesh0)
    for i in range(mesh0.shape[0]):
        for j in range(mesh0.shape[1]):
            grid[i, j] = ref.loss(np.array([mesh0[i, j], mesh1[i, j]]), x, y)
    return grid


def rounding_scale(theta0: np.ndarray, theta1: np.ndarray, x: np.ndarray, y: np.ndarray):
    """Per grid point, the size of the numbers whose differences make the residuals."""
    mesh0, mesh1 = np.meshgrid(theta0, theta1)
    size = np.max(np.abs(y)) + np.abs(mesh0) + np.abs(mesh1) * np.max(np.abs(x))
    return size


@pytest.mark.parametrize(("grid_of", "batches"), [
    (exact_grid, [1, 2, ROWS]),  # rows of theta1 per chunk
    (direct_grid, [1, 4, COLS * ROWS]),  # brute force: grid points per chunk
], ids=["rows", "points"])
@given(range0=ranges(), range1=ranges(), x=xs, y=ys, data=st.data())
def test_vmapped_grid_equals_the_notebook_loop(
    grid_of: Any, batches: list[int], range0: tuple[float, float],
    range1: tuple[float, float], x: np.ndarray, y: np.ndarray, data: st.DataObject,
) -> None:
    """loss[i, j] is the loss at (theta0[j], theta1[i]), whatever the chunk size."""
    batch = data.draw(st.sampled_from(batches), label="batch")
    theta0, theta1 = np.linspace(*range0, COLS), np.linspace(*range1, ROWS)
    grid = np.asarray(grid_of(theta0, theta1, x, y, batch=batch))
    assert grid.shape == (ROWS, COLS)
    expected = notebook_loop(theta0, theta1, x, y)
    size = rounding_scale(theta0, theta1, x, y)
    np.testing.assert_array_less(np.abs(grid - expected), 8 * N * EPS * size**2 + 1e-300)
    grid_of.assert_max_traces(3)


@given(ranges(), ranges(), xs, ys)
def test_sufficient_statistics_grid_equals_exact_grid(
    range0: tuple[float, float], range1: tuple[float, float], x: np.ndarray, y: np.ndarray
) -> None:
    """Centred (xbar, ybar, Sxx, Sxy, Syy) give the exact MSE up to rounding."""
    theta0, theta1 = np.linspace(*range0, COLS), np.linspace(*range1, ROWS)
    exact = np.asarray(exact_grid(theta0, theta1, x, y, batch=ROWS))
    fast = np.asarray(stats_grid(jnp.asarray(theta0), jnp.asarray(theta1), statistics(x, y)))
    size = rounding_scale(theta0, theta1, x, y)
    np.testing.assert_array_less(np.abs(fast - exact), 64 * N * EPS * size**2 + 1e-300)
    stats_grid.assert_max_traces(1)
    statistics.assert_max_traces(1)


loss_surface_exact = counted_jit(surface.exact_grid, static_argnames=("batch",))
ols = counted_jit(model.closed_form)


@given(ranges(), ranges(), xs, ys)
def test_no_grid_point_is_below_the_ols_loss(
    range0: tuple[float, float], range1: tuple[float, float], x: np.ndarray, y: np.ndarray
) -> None:
    assume(float(np.ptp(x)) > 0.1)  # else X is numerically rank-deficient for lstsq
    theta0, theta1 = np.linspace(*range0, COLS), np.linspace(*range1, ROWS)
    grid = np.asarray(loss_surface_exact(theta0, theta1, x, y, batch=ROWS))
    _, floor, _ = ols(x, y)
    size = rounding_scale(theta0, theta1, x, y)
    assert np.all(grid >= float(floor) - (64 * N * EPS * size**2 + 1e-300))
    loss_surface_exact.assert_max_traces(1)
    ols.assert_max_traces(1)


@given(st.integers(1, 10**7), st.integers(1, 10**9), st.integers(1, 1 << 26))
def test_chunks_stay_within_the_memory_budget(n: int, items: int, elements: int) -> None:
    """A chunk's (items x samples) block stays within its element budget (or one item)."""
    size = surface.chunk_size(n, items, elements)
    assert 1 <= size <= items
    assert size * n <= max(elements, n)
    assert size == items or (size + 1) * n > elements  # and uses the budget it has
