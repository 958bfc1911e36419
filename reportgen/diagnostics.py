"""What the Hessian says about gradient descent: curvature, stability and rates.

For the MSE the Hessian H = 2/n X^T X is constant. With eigenvalues l_min <= l_max,
full-batch GD at rate lr contracts the error along each eigenvector by |1 - lr * l| per
step: stable for lr < 2 / l_max, fastest at lr = 2 / (l_min + l_max).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


class Curvature(NamedTuple):
    """The Hessian and the step-size facts that follow from it."""

    hessian: np.ndarray
    eigenvalues: np.ndarray  # ascending
    eigenvectors: np.ndarray  # columns, in the eigenvalues' order
    condition_number: float
    max_stable_lr: float
    optimal_lr: float


def curvature(hessian: np.ndarray) -> Curvature:
    """Eigenvalues, condition number, 2/L and the optimal rate of a 2x2 SPD Hessian."""
    hessian = np.asarray(hessian, dtype=np.float64)
    eigenvalues, eigenvectors = np.linalg.eigh(hessian)
    low, high = float(eigenvalues[0]), float(eigenvalues[-1])
    # Data with (numerically) constant x leave a flat direction: infinitely ill-conditioned.
    condition = high / low if low > 0 else math.inf
    high = max(high, np.finfo(np.float64).tiny)
    return Curvature(
        hessian, eigenvalues, eigenvectors, condition, 2.0 / high, 2.0 / (max(low, 0.0) + high)
    )


def gd_rate(lr: float, eigenvalues: np.ndarray) -> float:
    """Full-batch GD's worst per-step contraction, max_i |1 - lr * l_i|."""
    return float(np.max(np.abs(1.0 - lr * np.asarray(eigenvalues))))


def heavy_ball_rate(lr: float, momentum: float, eigenvalues: np.ndarray, nesterov: bool) -> float:
    """Spectral radius of momentum's linear iteration, worst over the eigenvalues.

    optax's trace gives theta' = theta - lr (g + beta m) style recurrences whose error
    along eigenvalue l follows a 2x2 companion matrix; its spectral radius is the rate.
    """
    worst = 0.0
    for value in np.asarray(eigenvalues, dtype=np.float64):
        shrink = 1.0 - lr * value
        if nesterov:
            matrix = np.array([[(1 + momentum) * shrink, -momentum * shrink], [1.0, 0.0]])
        else:
            matrix = np.array([[1 + momentum - lr * value, -momentum], [1.0, 0.0]])
        worst = max(worst, float(np.max(np.abs(np.linalg.eigvals(matrix)))))
    return worst


def predicted_rate(
    optimizer: str, lr: float, momentum: float, eigenvalues: np.ndarray
) -> float | None:
    """The linear full-batch contraction bound per step, where the rule is linear."""
    if optimizer == "gd":
        return gd_rate(lr, eigenvalues)
    if optimizer in ("momentum", "nesterov"):
        return heavy_ball_rate(lr, momentum, eigenvalues, nesterov=optimizer == "nesterov")
    return None  # adam and rmsprop rescale per coordinate: no linear bound


def observed_rate(
    thetas: np.ndarray, optimum: np.ndarray, eigenvectors: np.ndarray
) -> float | None:
    """The run's slowest per-step contraction along the Hessian's eigenvectors.

    The error's component along each eigenvector shrinks by a geometric-mean factor
    (|e_T| / |e_0|)^(1/T); the largest of them is what ``predicted_rate`` bounds, and for
    full-batch GD the two agree to rounding.
    """
    thetas = np.asarray(thetas, dtype=np.float64)
    steps = len(thetas) - 1
    errors = (thetas - optimum) @ np.asarray(eigenvectors)
    start, end = np.abs(errors[0]), np.abs(errors[-1])
    usable = start > 1e-12 * max(float(np.max(start)), 1e-300)
    if steps < 1 or not np.any(usable) or not np.all(np.isfinite(end)):
        return None
    return float(np.max((end[usable] / start[usable]) ** (1.0 / steps)))
