"""What the exercise kinds ask, computed in numpy from the numbers a student is given.

The loss is the mean squared error J(theta) = |X theta - y|^2 / n, so with A = X^T X and
b = X^T y its gradient is 2/n (A theta - b), its Hessian H = 2/n A, and
J(theta) - J* = (theta - theta*)^T A (theta - theta*) / n. Each function takes plain
arrays (the inputs an exercise prints), so the answer key and a student working from
their printed numbers run the same arithmetic; ``store.answers`` reads the inputs from
the typed results. numpy only: the renderers and the course tools import this.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

#: A choice is fair when every rate is at least this far (relatively) from where the
#: answer would change: 2/lambda_max for "diverges", the next-best factor for "fastest".
CHOICE_MARGIN = 0.02
#: steps-to counts at most this many steps (a rate that needs more is not a fair question).
MAX_COUNTED_STEPS = 100_000


def _f64(value: ArrayLike) -> Array:
    return np.asarray(value, dtype=np.float64)


def eigenvalues(hessian: ArrayLike) -> tuple[float, float]:
    """(lambda_min, lambda_max) of the symmetric 2 x 2 Hessian."""
    low, high = np.linalg.eigvalsh(_f64(hessian))
    return float(low), float(high)


def gd_path(xtx: ArrayLike, xty: ArrayLike, n: int, start: ArrayLike, rate: float,
            steps: int) -> Array:
    """Full-batch gradient descent by hand: theta_0 = start, theta_{k+1} = theta_k -
    rate * 2/n (A theta_k - b); the (steps + 1, 2) path, the start first."""
    a, b = _f64(xtx), _f64(xty)
    path = [_f64(start)]
    for _ in range(steps):
        theta = path[-1]
        path.append(theta - rate * 2.0 / n * (a @ theta - b))
    return np.stack(path)


def excess_loss(theta: ArrayLike, xtx: ArrayLike, n: int, theta_star: ArrayLike) -> float:
    """J(theta) - J* = (theta - theta*)^T A (theta - theta*) / n."""
    d = _f64(theta) - _f64(theta_star)
    return float(d @ _f64(xtx) @ d) / n


def steps_to(xtx: ArrayLike, xty: ArrayLike, n: int, theta_star: ArrayLike, loss_star: float,
             start: ArrayLike, rate: float, fraction: float,
             limit: int = MAX_COUNTED_STEPS) -> int | None:
    """The first step k at which full-batch gradient descent from ``start`` has
    J(theta_k) <= (1 + fraction) J*, i.e. J(theta_k) - J* <= fraction J*; None when it
    does not get there within ``limit`` steps (too slow, or it diverges)."""
    a, b = _f64(xtx), _f64(xty)
    theta = _f64(start)
    target = fraction * loss_star
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run ends at inf: None
        for k in range(limit + 1):
            gap = excess_loss(theta, a, n, theta_star)
            if not math.isfinite(gap):
                return None
            if gap <= target:
                return k
            theta = theta - rate * 2.0 / n * (a @ theta - b)
    return None


def rate_factors(hessian: ArrayLike, rates: ArrayLike) -> Array:
    """Full-batch gradient descent's worst per-step factor max_i |1 - eta lambda_i| at each
    rate: above 1 it diverges; the smallest converges fastest."""
    low, high = eigenvalues(hessian)
    eta = _f64(rates)
    return np.maximum(np.abs(1.0 - eta * low), np.abs(1.0 - eta * high))


def choice(hessian: ArrayLike, options: ArrayLike, question: str) -> int | None:
    """The index of the one rate that diverges (``question = "diverges"``) or converges
    fastest (``"fastest"``); None when the question has no single clear answer for this
    Hessian (no rate or several diverge, or a rate lies within ``CHOICE_MARGIN`` of
    changing the answer)."""
    rates = _f64(options)
    _low, high = eigenvalues(hessian)
    if question == "diverges":
        bound = 2.0 / high
        if np.any(np.abs(rates / bound - 1.0) < CHOICE_MARGIN):
            return None
        above = np.flatnonzero(rates > bound)
        return int(above[0]) if above.size == 1 else None
    factors = rate_factors(hessian, rates)
    order = np.argsort(factors)
    best, second = factors[order[0]], factors[order[1]]
    if best >= 1.0 or second - best < CHOICE_MARGIN * best:
        return None
    return int(order[0])


def round_significant(values: ArrayLike, digits: int) -> Array:
    """``values`` rounded to ``digits`` significant digits (what a copy prints)."""
    array = _f64(values)
    flat = [float(f"{v:.{digits - 1}e}") if math.isfinite(v) else v for v in array.ravel()]
    return np.array(flat, dtype=np.float64).reshape(array.shape)
