"""The loss over a (theta0, theta1) grid: exact by vmap, or by sufficient statistics.

The grid is indexed like the source notebook's meshgrid: ``loss[i, j]`` is the loss at
``(theta0[j], theta1[i])``, rows along theta1 and columns along theta0.
"""

from __future__ import annotations

from functools import partial
from typing import Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array, lax
from jax.typing import ArrayLike

from reportgen.model import mse_loss, statistics, stats_loss

#: Above this many (grid point x sample) products "auto" uses sufficient statistics.
EXACT_WORK_LIMIT = 50_000_000
#: Elements of the (points x samples) residual block one chunk may hold.
CHUNK_ELEMENTS = 1 << 22

Method = Literal["exact", "stats"]


class Surface(NamedTuple):
    """A loss grid with its axes and the method that made it."""

    theta0: np.ndarray
    theta1: np.ndarray
    loss: np.ndarray  # (len(theta1), len(theta0))
    method: Method


def axes(theta0_range: tuple[float, float], theta1_range: tuple[float, float], resolution: int):
    """The grid's axes, as ``numpy.linspace`` gives them (the notebook's grid)."""
    return (
        np.linspace(*theta0_range, resolution),
        np.linspace(*theta1_range, resolution),
    )


def chunk_size(n: int, points: int) -> int:
    """Grid points per vmapped chunk so a chunk's residuals stay near ``CHUNK_ELEMENTS``."""
    return int(max(1, min(points, CHUNK_ELEMENTS // max(n, 1))))


@partial(jax.jit, static_argnames=("batch",))
def exact_grid(theta0: Array, theta1: Array, x: Array, y: Array, batch: int) -> Array:
    """``mse_loss`` at every grid point: vmapped in chunks of ``batch`` by ``lax.map``."""
    t0, t1 = jnp.meshgrid(theta0, theta1)
    points = jnp.stack([t0.ravel(), t1.ravel()], axis=1)
    losses = lax.map(lambda theta: mse_loss(theta, x, y), points, batch_size=batch)
    return losses.reshape(t0.shape)


def exact(theta0: ArrayLike, theta1: ArrayLike, x: ArrayLike, y: ArrayLike) -> Array:
    """The exact grid with a chunk size bounded by ``CHUNK_ELEMENTS``."""
    x = jnp.asarray(x)
    points = int(np.size(theta0) * np.size(theta1))
    return exact_grid(
        jnp.asarray(theta0, x.dtype), jnp.asarray(theta1, x.dtype), x, jnp.asarray(y),
        batch=chunk_size(x.shape[0], points),
    )


@jax.jit
def stats_grid(theta0: Array, theta1: Array, stats: Array) -> Array:
    """``stats_loss`` at every grid point, in float64: O(1) per point whatever n is."""
    t0, t1 = jnp.meshgrid(theta0.astype(jnp.float64), theta1.astype(jnp.float64))
    points = jnp.stack([t0, t1], axis=-1)
    return jax.vmap(jax.vmap(stats_loss, (0, None)), (0, None))(points, stats)


def choose_method(requested: str, n: int, resolution: int) -> Method:
    """``auto`` picks exact while n x resolution^2 stays under ``EXACT_WORK_LIMIT``."""
    if requested in ("exact", "stats"):
        return requested  # type: ignore[return-value]
    return "exact" if n * resolution * resolution <= EXACT_WORK_LIMIT else "stats"


def loss_surface(
    theta0: np.ndarray, theta1: np.ndarray, x: ArrayLike, y: ArrayLike, method: Method
) -> Surface:
    """The loss grid by the given method, in the data's dtype."""
    x = jnp.asarray(x)
    if method == "exact":
        grid = exact(theta0, theta1, x, y)
    else:
        grid = stats_grid(jnp.asarray(theta0), jnp.asarray(theta1), statistics(x, jnp.asarray(y)))
        grid = grid.astype(x.dtype)
    return Surface(theta0, theta1, np.asarray(grid), method)
