"""reportgen.diagnostics: curvature, step-size bounds and rates against known answers."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import numpy_reference as ref
import pytest

from reportgen import theory
from reportgen.numerics import diagnostics, optimize


def test_curvature_of_a_diagonal_hessian() -> None:
    bend = diagnostics.curvature(np.diag([4.0, 1.0]))
    np.testing.assert_array_equal(bend.eigenvalues, [1.0, 4.0])  # ascending
    assert bend.condition_number == 4.0
    assert bend.max_stable_lr == 0.5  # 2 / L
    assert bend.optimal_lr == 0.4  # 2 / (l + L)
    np.testing.assert_array_equal(np.abs(bend.eigenvectors), [[0.0, 1.0], [1.0, 0.0]])


def test_curvature_of_the_mse_hessian_matches_its_definition() -> None:
    x = np.random.RandomState(0).rand(50) * 2
    hessian = ref.hessian(x)
    bend = diagnostics.curvature(hessian)
    for value, vector in zip(bend.eigenvalues, bend.eigenvectors.T, strict=True):
        np.testing.assert_allclose(hessian @ vector, value * vector, atol=1e-12)
    assert np.all(bend.eigenvalues > 0)
    assert bend.condition_number == pytest.approx(bend.eigenvalues[1] / bend.eigenvalues[0])


def test_gd_rate_is_worst_eigen_contraction() -> None:
    eigenvalues = np.array([1.0, 4.0])
    assert theory.gd_rate(0.1, eigenvalues) == pytest.approx(0.9)  # slow direction
    assert theory.gd_rate(0.45, eigenvalues) == pytest.approx(0.8)  # fast one overshoots
    # At the optimal rate both directions contract by (kappa - 1) / (kappa + 1).
    assert theory.gd_rate(0.4, eigenvalues) == pytest.approx(3 / 5)
    assert theory.gd_rate(0.5, eigenvalues) == pytest.approx(1.0)  # 2/L: the edge
    assert theory.gd_rate(0.6, eigenvalues) > 1.0


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_zero_is_plain_gd(nesterov: bool) -> None:
    eigenvalues = np.array([0.7, 5.0])
    for lr in (0.05, 0.2, 0.39, 0.45):
        assert theory.heavy_ball_rate(lr, 0.0, eigenvalues, nesterov) == pytest.approx(
            theory.gd_rate(lr, eigenvalues), abs=1e-7  # a double root at zero
        )


def test_heavy_ball_polyak_tuning_gives_the_accelerated_rate() -> None:
    """lr = 4 / (sqrt L + sqrt l)^2, beta = ((sqrt k - 1) / (sqrt k + 1))^2: rate
    (sqrt k - 1) / (sqrt k + 1), the square root of beta."""
    low, high = 1.0, 100.0
    lr = 4 / (math.sqrt(high) + math.sqrt(low)) ** 2
    root = math.sqrt(high / low)
    beta = ((root - 1) / (root + 1)) ** 2
    rate = theory.heavy_ball_rate(lr, beta, np.array([low, high]), nesterov=False)
    assert rate == pytest.approx((root - 1) / (root + 1), rel=1e-6)


def test_underdamped_heavy_ball_contracts_by_sqrt_beta() -> None:
    # (1 + beta - lr l)^2 < 4 beta for both eigenvalues: complex roots of modulus sqrt(beta).
    rate = theory.heavy_ball_rate(0.1, 0.81, np.array([1.0, 4.0]), nesterov=False)
    assert rate == pytest.approx(0.9, rel=1e-12)


def test_predicted_rate_only_for_linear_rules() -> None:
    eigenvalues = np.array([1.0, 4.0])
    assert theory.predicted_rate("gd", 0.1, 0.9, eigenvalues) == pytest.approx(0.9)
    assert theory.predicted_rate("momentum", 0.1, 0.81, eigenvalues) == pytest.approx(0.9)
    assert theory.predicted_rate("nesterov", 0.1, 0.5, eigenvalues) is not None
    assert theory.predicted_rate("adam", 0.1, 0.9, eigenvalues) is None
    assert theory.predicted_rate("rmsprop", 0.1, 0.9, eigenvalues) is None


def _data() -> tuple[np.ndarray, np.ndarray]:
    stream = np.random.RandomState(0)
    x = 2 * stream.rand(100)
    return x, 4 + 3 * x + stream.randn(100)


def _run(name: str, lr: float, momentum: float, steps: int, start: np.ndarray):
    x, y = _data()
    hyper = optimize.Hyper(jnp.asarray(lr), jnp.asarray(momentum))
    record = optimize.full_batch_run(name, hyper, jnp.asarray(start), jnp.asarray(x),
                                     jnp.asarray(y), steps=steps)
    return np.asarray(record.thetas), ref.ols(x, y), diagnostics.curvature(ref.hessian(x))


def test_observed_gd_rate_equals_the_predicted_one() -> None:
    """Full-batch GD is linear: each eigen-component shrinks by exactly |1 - lr l|."""
    thetas, optimum, bend = _run("gd", 0.1, 0.0, 10, np.array([0.0, 0.0]))
    observed = diagnostics.observed_rate(thetas, optimum, bend.eigenvectors)
    assert observed == pytest.approx(theory.gd_rate(0.1, bend.eigenvalues), rel=1e-9)


def _asymptotic_rates(thetas: np.ndarray, optimum: np.ndarray, vectors: np.ndarray):
    """Per eigenvector, the per-step contraction over the second half of the run, from
    window maxima (an oscillating component passes through zero); None where the error
    has sunk to rounding."""
    errors = np.abs((thetas - optimum) @ vectors)
    window, steps = 20, len(thetas) - 1
    early = errors[steps // 2 - window:steps // 2].max(axis=0)
    late = errors[steps - window:].max(axis=0)
    return [float((b / a) ** (1 / (steps - steps // 2))) if b > 1e-11 else None
            for a, b in zip(early, late, strict=True)]


@pytest.mark.parametrize(("name", "lr", "momentum"), [
    ("momentum", 0.05, 0.9),  # underdamped: sqrt(0.9) per step
    ("momentum", 0.1, 0.5),
    ("nesterov", 0.05, 0.9),
    ("nesterov", 0.3, 0.3),  # real, well separated roots
])
def test_observed_momentum_contraction_matches_heavy_ball_rate(
    name: str, lr: float, momentum: float
) -> None:
    nesterov = name == "nesterov"
    bend = diagnostics.curvature(ref.hessian(_data()[0]))
    predicted = [theory.heavy_ball_rate(lr, momentum, np.array([value]), nesterov)
                 for value in bend.eigenvalues]
    # Long enough to see the asymptote, short enough that the slowest error stays ~1e-8.
    steps = 2 * int(math.log(1e-8) / math.log(max(predicted)) / 2)
    thetas, optimum, _ = _run(name, lr, momentum, steps, np.array([-2.0, 8.0]))
    assert max(predicted) == theory.heavy_ball_rate(lr, momentum, bend.eigenvalues,
                                                         nesterov) < 1
    observed = _asymptotic_rates(thetas, optimum, bend.eigenvectors)
    slowest = int(np.argmax(predicted))
    assert observed[slowest] is not None  # the rate that matters is measurable
    for seen, expected in zip(observed, predicted, strict=True):
        if seen is not None:
            assert seen == pytest.approx(expected, rel=5e-3)
