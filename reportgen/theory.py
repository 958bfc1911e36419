"""Formulas shared by compute and render (numpy only): contraction factors and step sizes.

For the MSE the Hessian H = 2/n X^T X is constant. With eigenvalues l_min <= l_max,
full-batch gradient descent at rate lr multiplies the error along each eigenvector by
1 - lr * l per step: stable for lr < 2 / l_max, fastest at lr = 2 / (l_min + l_max), where
both factors equal (kappa - 1) / (kappa + 1).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from reportgen.optimizers import OPTIMIZERS


def gd_factor(lr: ArrayLike, eigenvalue: float) -> np.ndarray:
    """|1 - lr * l|: how much one full-batch GD step scales the error along eigenvalue l."""
    return np.abs(1.0 - np.asarray(lr, dtype=np.float64) * eigenvalue)


def gd_rate(lr: float, eigenvalues: ArrayLike) -> float:
    """Full-batch GD's worst per-step contraction, max_i |1 - lr * l_i|."""
    return float(np.max(np.abs(1.0 - lr * np.asarray(eigenvalues, dtype=np.float64))))


def heavy_ball_rate(lr: float, momentum: float, eigenvalues: ArrayLike, nesterov: bool) -> float:
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
    optimizer: str, lr: float, momentum: float, eigenvalues: ArrayLike
) -> float | None:
    """The linear full-batch contraction bound per step, where the rule is linear."""
    if optimizer == "gd":
        return gd_rate(lr, eigenvalues)
    if OPTIMIZERS[optimizer].linear:
        return heavy_ball_rate(lr, momentum, eigenvalues, nesterov=optimizer == "nesterov")
    return None  # adam and rmsprop rescale per coordinate: no linear bound


def max_stable_lr(l_max: float) -> float:
    """2 / L: the largest learning rate at which full-batch GD does not diverge."""
    return 2.0 / max(l_max, np.finfo(np.float64).tiny)


def optimal_lr(l_min: float, l_max: float) -> float:
    """2 / (l_min + l_max): the rate with the smallest worst-case factor."""
    return 2.0 / (max(l_min, 0.0) + max(l_max, np.finfo(np.float64).tiny))


def balanced_factor(condition_number: float) -> float:
    """(kappa - 1) / (kappa + 1): the per-step factor at the optimal rate."""
    if not math.isfinite(condition_number):
        return 1.0
    return (condition_number - 1.0) / (condition_number + 1.0)
