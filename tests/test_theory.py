"""reportgen.theory: the formulas shared by compute and render, against known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reportgen import theory


def test_geometric_rate_is_the_average_factor() -> None:
    assert theory.geometric_rate(8.0, 1.0, 3) == pytest.approx(0.5)
    assert theory.geometric_rate(6.309230528803451, 0.39058595974572663, 10) == pytest.approx(
        0.757136, abs=1e-6)  # the notebook's batch run: not its slow factor 0.968
    assert theory.geometric_rate(0.0, 1.0, 3) is None
    assert theory.geometric_rate(1.0, math.inf, 3) is None


def test_excess_loss_shrinks_by_the_square_of_the_error_factor() -> None:
    h = np.diag([1.0, 4.0])
    error = np.array([0.0, 1.0])
    factor = 0.7
    excess = [0.5 * (factor**k * error) @ h @ (factor**k * error) for k in range(3)]
    assert excess[1] / excess[0] == pytest.approx(theory.excess_loss_factor(factor))


def test_steps_to_fraction() -> None:
    assert theory.steps_to_fraction(0.5, 0.01) == 7  # 0.5^7 < 0.01 <= 0.5^6
    assert theory.steps_to_fraction(0.0) == 1
    assert theory.steps_to_fraction(1.0) is None
    assert theory.steps_to_fraction(0.9678096098003953) == 141


def test_feature_scaling_straightens_the_valley() -> None:
    raw, centred, standard = theory.scaled_features(0.9455876790250354, 0.5766032100305802)
    hessian = theory.feature_hessian(0.9455876790250354, 0.5766032100305802)
    assert raw["condition_number"] == pytest.approx(
        theory.condition_number(np.linalg.eigvalsh(hessian)))
    assert raw["condition_number"] == pytest.approx(12.83, abs=0.01)
    assert centred["condition_number"] == pytest.approx(3.01, abs=0.01)
    assert standard["condition_number"] == 1.0 and standard["factor"] == 0.0
    assert standard["optimal_lr"] == 0.5 and standard["steps_to_1pct"] == 1
    assert raw["steps_to_1pct"] > centred["steps_to_1pct"] > standard["steps_to_1pct"]
    assert theory.column_cosine(0.0, 1.0) == 0.0
    assert theory.column_cosine(1.0, 0.0) == 1.0


def test_polyak_heavy_ball_is_the_fastest_momentum() -> None:
    lmin, lmax = 0.3219039019960468, 4.131310739086999
    lr, beta, factor = theory.heavy_ball_optimal(lmin, lmax)
    kappa = lmax / lmin
    assert factor == pytest.approx((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1))
    assert theory.heavy_ball_rate(lr, beta, [lmin, lmax], nesterov=False) == pytest.approx(
        factor, rel=1e-6)
    for other_lr, other_beta in ((lr * 0.9, beta), (lr, beta * 1.2), (lr * 1.1, beta * 0.8)):
        assert theory.heavy_ball_rate(other_lr, other_beta, [lmin, lmax], False) > factor
    assert factor < theory.balanced_factor(kappa)  # better than GD at its best rate


def test_momentum_factors_is_heavy_ball_rate_per_rate() -> None:
    rates = [0.05, 0.2, 0.5]
    curve = theory.momentum_factors(rates, 0.8, [0.3, 4.0], nesterov=True)
    assert curve.tolist() == [theory.heavy_ball_rate(r, 0.8, [0.3, 4.0], True) for r in rates]
