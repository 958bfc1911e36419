"""What the Hessian says about gradient descent: curvature, stability and rates.

The formulas live in ``reportgen.theory`` (shared with the renderer); this module applies
them to a computed Hessian and measures a run's observed rate.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from reportgen import theory


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
    return Curvature(
        hessian, eigenvalues, eigenvectors, condition,
        theory.max_stable_lr(high), theory.optimal_lr(low, high),
    )


def observed_rate(
    thetas: np.ndarray, optimum: np.ndarray, eigenvectors: np.ndarray
) -> float | None:
    """The run's slowest per-step contraction along the Hessian's eigenvectors.

    The error's component along each eigenvector shrinks by a geometric-mean factor
    (|e_T| / |e_0|)^(1/T); the largest of them is what ``theory.predicted_rate`` bounds,
    and for full-batch GD the two agree to rounding.
    """
    thetas = np.asarray(thetas, dtype=np.float64)
    steps = len(thetas) - 1
    errors = (thetas - optimum) @ np.asarray(eigenvectors)
    start, end = np.abs(errors[0]), np.abs(errors[-1])
    usable = start > 1e-12 * max(float(np.max(start)), 1e-300)
    if steps < 1 or not np.any(usable) or not np.all(np.isfinite(end)):
        return None
    return float(np.max((end[usable] / start[usable]) ** (1.0 / steps)))
