"""The linear model y = theta0 + theta1 * x, its MSE loss, gradient, Hessian and OLS.

float64 arrays need ``runtime.configure_jax()`` (or ``runtime.x64()``) first.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike


def design_matrix(x: ArrayLike) -> Array:
    """The (n, 2) matrix [1, x] of the linear model."""
    x = jnp.asarray(x)
    return jnp.stack([jnp.ones_like(x), x], axis=1)


def predict(theta: ArrayLike, x: ArrayLike) -> Array:
    """theta0 + theta1 * x."""
    theta = jnp.asarray(theta)
    return theta[0] + theta[1] * jnp.asarray(x)


def mse_loss(theta: ArrayLike, x: ArrayLike, y: ArrayLike) -> Array:
    """Mean squared error (1/n) sum (y - theta0 - theta1 x)^2."""
    residual = jnp.asarray(y) - predict(theta, x)
    return jnp.mean(residual**2)


def masked_mse_loss(theta: ArrayLike, x: ArrayLike, y: ArrayLike, mask: ArrayLike) -> Array:
    """MSE over the samples where ``mask`` holds: a batch padded to a static shape."""
    weights = jnp.asarray(mask, dtype=jnp.asarray(x).dtype)
    residual = jnp.asarray(y) - predict(theta, x)
    return jnp.sum(weights * residual**2) / jnp.sum(weights)


#: d(MSE)/d(theta) by automatic differentiation.
mse_gradient = jax.grad(mse_loss)
masked_mse_gradient = jax.grad(masked_mse_loss)


def hessian(x: ArrayLike, y: ArrayLike) -> Array:
    """The MSE's Hessian by ``jax.hessian``; constant in theta and equal to 2/n X^T X."""
    theta = jnp.zeros(2, dtype=jnp.asarray(x).dtype)
    return jax.hessian(mse_loss)(theta, x, y)


def statistics(x: ArrayLike, y: ArrayLike) -> Array:
    """Centred sufficient statistics, accumulated in float64: [xbar, ybar, Sxx, Sxy, Syy].

    Centring first keeps float32 data accurate at large n (raw moments lose ~1e-2).
    """
    x = jnp.asarray(x).astype(jnp.float64)
    y = jnp.asarray(y).astype(jnp.float64)
    x_mean, y_mean = jnp.mean(x), jnp.mean(y)
    xc, yc = x - x_mean, y - y_mean
    return jnp.stack([x_mean, y_mean, jnp.mean(xc * xc), jnp.mean(xc * yc), jnp.mean(yc * yc)])


def stats_loss(theta: ArrayLike, stats: ArrayLike) -> Array:
    """The MSE from ``statistics``: exact for the linear model, O(1) whatever n is.

    L = (ybar - t0 - t1 xbar)^2 + t1^2 Sxx - 2 t1 Sxy + Syy (centring removes cross terms).
    """
    theta = jnp.asarray(theta)
    x_mean, y_mean, sxx, sxy, syy = jnp.asarray(stats)
    offset = y_mean - theta[0] - theta[1] * x_mean
    return offset**2 + theta[1] ** 2 * sxx - 2.0 * theta[1] * sxy + syy


def ols(x: ArrayLike, y: ArrayLike) -> Array:
    """The least-squares solution by ``lstsq`` (never the normal equations)."""
    solution, *_ = jnp.linalg.lstsq(design_matrix(x), jnp.asarray(y))
    return solution


@jax.jit
def closed_form(x: Array, y: Array) -> tuple[Array, Array, Array]:
    """The OLS solution, its loss and the Hessian, in one compiled call."""
    theta = ols(x, y)
    return theta, mse_loss(theta, x, y), hessian(x, y)
