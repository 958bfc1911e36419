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

#: A run has diverged when it ends non-finite or above this many times its initial loss
#: (a stable full-batch GD run never rises above its start at all).
DIVERGENCE_FACTOR = 10.0
#: Two final losses tie when they differ by at most this share of the least-squares loss J*
#: (rounding in float64 leaves differences of ~1e-14 x J* between converged runs).
TIE = 1e-9
#: ... and at least by this share of mean(y^2): a loss computed in float64 (from sufficient
#: statistics, say) carries an absolute rounding error of about 1e-16 x mean(y^2), which
#: dominates where the data lie on a line and J* is itself rounding.
ROUNDING = 1e-12


def tie_tolerance(floor: float, mean_square_y: float) -> float:
    """How close two final losses must be to tie: TIE x J*, or rounding where larger."""
    return max(TIE * max(floor, 0.0), ROUNDING * max(mean_square_y, 0.0))


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
    if math.isnan(condition_number):
        return math.nan
    if not math.isfinite(condition_number):
        return 1.0
    return (condition_number - 1.0) / (condition_number + 1.0)


def geometric_rate(start: float, end: float, steps: int) -> float | None:
    """(end / start)^(1/steps): the average per-step factor of a quantity over a run.

    The distance to theta* of a full-batch GD run falls by this factor on average; it is
    not |1 - lr * l_min| (the slow component's factor), which it approaches only once the
    fast component has died out.
    """
    if steps < 1 or not start > 0 or not math.isfinite(end) or end < 0:
        return None
    return float((end / start) ** (1.0 / steps))


def excess_loss_factor(error_factor: float) -> float:
    """The per-step factor of the excess loss L - L* when the error shrinks by ``error_factor``.

    L - L* = 1/2 e^T H e is quadratic in the error e, so on a log axis its slope is the
    square of the error's factor.
    """
    return error_factor * error_factor


def steps_to_fraction(factor: float, fraction: float = 0.01) -> int | None:
    """How many steps at a per-step ``factor`` shrink an error to ``fraction`` of itself."""
    if math.isnan(factor):
        return None
    if factor <= 0.0:
        return 1
    if factor >= 1.0 or not 0.0 < fraction < 1.0:
        return None
    return max(1, math.ceil(math.log(fraction) / math.log(factor)))


def condition_number(eigenvalues: ArrayLike) -> float:
    """l_max / l_min of a symmetric positive semi-definite matrix (inf when singular)."""
    values = np.asarray(eigenvalues, dtype=np.float64)
    low, high = float(np.min(values)), float(np.max(values))
    return high / low if low > 0 else math.inf


def feature_hessian(x_mean: float, x_std: float) -> np.ndarray:
    """The MSE's Hessian 2/n X^T X for X = [1, x], from the mean and (population) std of x.

    2/n X^T X = 2 [[1, mean], [mean, mean^2 + std^2]]: centring x (mean 0) makes it
    diagonal, standardising (mean 0, std 1) makes it 2 I.
    """
    return 2.0 * np.array([[1.0, x_mean], [x_mean, x_mean * x_mean + x_std * x_std]])


def scaled_features(x_mean: float, x_std: float) -> list[dict[str, float | int | str | None]]:
    """What feature scaling does to the valley: raw, centred and standardised x.

    For each: the Hessian's eigenvalues, the condition number, the optimal rate, the
    per-step factor there and the steps to 1%.
    """
    rows: list[dict[str, float | int | str | None]] = []
    for name, mean, std in (("raw", x_mean, x_std), ("centred", 0.0, x_std),
                            ("standardised", 0.0, 1.0 if x_std > 0 else 0.0)):
        low, high = (float(v) for v in np.linalg.eigvalsh(feature_hessian(mean, std)))
        kappa = high / low if low > 0 else math.inf
        factor = balanced_factor(kappa)
        rows.append({"features": name, "l_min": low, "l_max": high, "condition_number": kappa,
                     "optimal_lr": optimal_lr(low, high), "factor": factor,
                     "steps_to_1pct": steps_to_fraction(factor)})
    return rows


def heavy_ball_optimal(l_min: float, l_max: float) -> tuple[float, float, float]:
    """Polyak's tuned heavy ball for a quadratic: (lr, momentum, per-step factor).

    lr = 4 / (sqrt(L) + sqrt(l_min))^2, momentum = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2,
    factor = (sqrt(kappa) - 1) / (sqrt(kappa) + 1), for optax's trace (theta' = theta -
    lr (g + momentum v)).
    """
    root_low, root_high = math.sqrt(max(l_min, 0.0)), math.sqrt(max(l_max, 0.0))
    factor = (root_high - root_low) / (root_high + root_low)
    return 4.0 / (root_high + root_low) ** 2, factor * factor, factor


def momentum_factors(lrs: ArrayLike, momentum: float, eigenvalues: ArrayLike,
                     nesterov: bool) -> np.ndarray:
    """``heavy_ball_rate`` at every rate of ``lrs`` (a curve to draw)."""
    return np.array([heavy_ball_rate(float(lr), momentum, eigenvalues, nesterov)
                     for lr in np.asarray(lrs, dtype=np.float64).ravel()])


def column_cosine(x_mean: float, x_std: float) -> float:
    """The cosine of the angle between X's columns, the ones and x: mean / sqrt(mean^2 + std^2).

    Near 1 the columns are nearly parallel and the valley is long; 0 (centred x) makes
    the Hessian diagonal.
    """
    norm = math.hypot(x_mean, x_std)
    return abs(x_mean) / norm if norm > 0 else 1.0


def heavy_ball_steps(hessian: ArrayLike, error: ArrayLike, lr: float, momentum: float,
                     fraction: float = 0.01, limit: int = 100_000) -> int | None:
    """Steps the heavy ball (optax's trace: v' = momentum v + g, theta' = theta - lr v')
    takes from the error ``error`` = theta - theta* until |error| first falls to
    ``fraction`` of its start, on the quadratic with this Hessian (g = H error); None when
    it does not within ``limit`` steps.

    The asymptotic rate (``heavy_ball_optimal``) says how fast the error shrinks in the
    long run; a finite run from a given start can need more steps than it suggests.
    """
    matrix = np.asarray(hessian, dtype=np.float64)
    e = np.asarray(error, dtype=np.float64).copy()
    start = float(np.linalg.norm(e))
    if start == 0:
        return 0
    v = np.zeros_like(e)
    for step in range(1, limit + 1):
        v = momentum * v + matrix @ e
        e = e - lr * v
        size = float(np.linalg.norm(e))
        if not math.isfinite(size):
            return None
        if size <= fraction * start:
            return step
    return None


#: The tuning sweep's learning-rate grid (``numerics.tuning``): this many rates per decade,
#: from scale x 10^(RATE_GRID_LOWEST / RATES_PER_DECADE) to scale x 10^(RATE_GRID_HIGHEST /
#: RATES_PER_DECADE), each rounded to three significant figures (a rate one can type).
RATES_PER_DECADE = 16
RATE_GRID_LOWEST, RATE_GRID_HIGHEST = -48, 9
#: The betas the tuning sweep tries for momentum and Nesterov.
MOMENTUM_GRID: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def round_significant(value: float, digits: int = 3) -> float:
    """``value`` rounded to ``digits`` significant figures."""
    return float(f"{value:.{digits - 1}e}")


def rate_grid(scale: float) -> np.ndarray:
    """The tuning sweep's learning rates around ``scale`` (sorted, distinct, positive)."""
    rates = {round_significant(scale * 10 ** (k / RATES_PER_DECADE))
             for k in range(RATE_GRID_LOWEST, RATE_GRID_HIGHEST + 1)}
    return np.array(sorted(rate for rate in rates if rate > 0), dtype=np.float64)
