"""Properties of the MSE loss, its gradient, Hessian and the OLS minimum (reportgen.model).

Shapes are static (N samples every example) and every compiled function is a
``counted_jit`` so a recompile per example fails the test instead of slowing the suite.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from jax.test_util import check_grads
from strategies import samples
from tracing import counted_jit

from reportgen.numerics import model

pytestmark = pytest.mark.property

N = 16
EPS = np.finfo(np.float64).eps


xs = samples(N, 10.0)
ys = samples(N, 100.0)
thetas = samples(2, 50.0)


def spread(x: np.ndarray) -> bool:
    """x takes at least two clearly distinct values, so X has full column rank."""
    return float(np.ptp(x)) > 0.1


loss = counted_jit(model.mse_loss)
predict = counted_jit(model.predict)
gradient = counted_jit(model.mse_gradient)


def textbook_gradient(theta: Any, x: Any, y: Any) -> Any:
    """-2/n X^T (y - X theta), the textbook gradient, written out to check mse_gradient."""
    design = model.design_matrix(x)
    return -2.0 / design.shape[0] * design.T @ (jnp.asarray(y) - design @ jnp.asarray(theta))


closed_form_gradient = counted_jit(textbook_gradient)
hessian = counted_jit(model.hessian)
closed_form = counted_jit(model.closed_form)
jacobian_of_gradient = counted_jit(jax.jacfwd(model.mse_gradient))
statistics = counted_jit(model.statistics)
stats_loss = counted_jit(model.stats_loss)


def design(x: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones_like(x), x])


@given(thetas, xs, ys)
def test_loss_is_nonnegative(theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
    assert float(loss(theta, x, y)) >= 0.0
    loss.assert_max_traces(1)


@given(thetas, xs)
def test_loss_is_exactly_zero_on_a_perfect_fit(theta: np.ndarray, x: np.ndarray) -> None:
    y = np.asarray(predict(theta, x))  # the model's own rounding of theta0 + theta1 x
    assert float(loss(theta, x, y)) == 0.0
    # Data on the line but rounded by numpy: zero up to rounding, squared.
    y_numpy = theta[0] + theta[1] * x
    scale = np.max(np.abs(theta[0]) + np.abs(theta[1] * x))
    assert float(loss(theta, x, y_numpy)) <= (4 * EPS * scale) ** 2 + 1e-300
    loss.assert_max_traces(1)
    predict.assert_max_traces(1)


@given(thetas, xs, ys)
def test_autodiff_gradient_equals_closed_form(
    theta: np.ndarray, x: np.ndarray, y: np.ndarray
) -> None:
    """jax.grad of the MSE is -2/n X^T (y - X theta), to a few ulps of its terms."""
    auto = np.asarray(gradient(theta, x, y))
    closed = np.asarray(closed_form_gradient(theta, x, y))
    residual = y - design(x) @ theta
    # Each component sums n products; rounding is relative to the sum of their sizes.
    scale = 2.0 / N * np.abs(design(x)).T @ (np.abs(y) + np.abs(design(x)) @ np.abs(theta))
    np.testing.assert_array_less(np.abs(auto - closed), 8 * N * EPS * scale + 1e-300)
    independent = -2.0 / N * design(x).T @ residual
    np.testing.assert_array_less(np.abs(auto - independent), 8 * N * EPS * scale + 1e-300)
    gradient.assert_max_traces(1)
    closed_form_gradient.assert_max_traces(1)


@given(thetas, xs, ys)
def test_gradient_matches_finite_differences(
    theta: np.ndarray, x: np.ndarray, y: np.ndarray
) -> None:
    """Forward and reverse derivatives to second order match central differences.

    Jointly in (theta, y) the loss is quadratic (in x it is quartic, and the truncation
    error would swamp the check). check_grads's second reverse order differentiates
    f * grad f, a cubic, hence the small step.
    """
    def loss_in_theta_and_y(theta: jax.Array, y: jax.Array) -> jax.Array:
        return loss(theta, x, y)

    check_grads(loss_in_theta_and_y, (jnp.asarray(theta), jnp.asarray(y)), order=2,
                modes=("fwd", "rev"), eps=1e-5)
    loss.assert_max_traces(1)


@given(xs, ys, thetas)
def test_gradient_vanishes_at_ols_and_ols_loss_is_minimal(
    x: np.ndarray, y: np.ndarray, theta: np.ndarray
) -> None:
    assume(spread(x))
    theta_ols, loss_ols, _ = closed_form(x, y)
    g = np.asarray(gradient(theta_ols, x, y))
    # The residual is orthogonal to X's columns up to rounding of X^T r.
    scale = 2.0 / N * np.abs(design(x)).T @ (np.abs(y) + np.abs(design(x)) @ np.abs(theta_ols))
    np.testing.assert_array_less(np.abs(g), 64 * N * EPS * scale + 1e-300)
    anywhere = float(loss(theta, x, y))
    assert float(loss_ols) <= anywhere + 64 * EPS * (anywhere + float(np.mean(y**2)))
    # Nudging the OLS solution cannot lower the loss either.
    for direction in np.eye(2):
        nudged = float(loss(np.asarray(theta_ols) + 1e-3 * direction, x, y))
        assert float(loss_ols) <= nudged + 64 * EPS * (nudged + float(np.mean(y**2)))
    closed_form.assert_max_traces(1)
    gradient.assert_max_traces(1)


@given(thetas, xs, ys, st.permutations(range(N)))
def test_loss_is_invariant_to_permuting_samples(
    theta: np.ndarray, x: np.ndarray, y: np.ndarray, order: list[int]
) -> None:
    original = float(loss(theta, x, y))
    permuted = float(loss(theta, x[order], y[order]))
    assert permuted == pytest.approx(original, rel=4 * N * EPS, abs=1e-300)
    loss.assert_max_traces(1)


@given(xs, ys, thetas)
def test_hessian_is_two_over_n_xtx_with_positive_eigenvalues(
    x: np.ndarray, y: np.ndarray, theta: np.ndarray
) -> None:
    assume(spread(x))
    h = np.asarray(hessian(x, y))
    expected = 2.0 / N * design(x).T @ design(x)
    np.testing.assert_allclose(h, expected, rtol=16 * N * EPS, atol=16 * N * EPS * expected.max())
    np.testing.assert_array_equal(h, h.T)
    assert np.all(np.linalg.eigvalsh(h) > 0)
    # The Hessian is constant in theta: it is the Jacobian of the gradient anywhere.
    at_theta = np.asarray(jacobian_of_gradient(theta, x, y))
    np.testing.assert_allclose(at_theta, h, rtol=1e-12, atol=1e-12 * expected.max())
    hessian.assert_max_traces(1)
    jacobian_of_gradient.assert_max_traces(1)


@given(thetas, xs, ys)
def test_sufficient_statistics_loss_equals_sample_loss(
    theta: np.ndarray, x: np.ndarray, y: np.ndarray
) -> None:
    """(ybar - t0 - t1 xbar)^2 + t1^2 Sxx - 2 t1 Sxy + Syy is the MSE, up to cancellation."""
    stats = statistics(x, y)
    from_stats = float(stats_loss(theta, stats))
    exact = float(loss(theta, x, y))
    x_mean, y_mean, sxx, sxy, syy = np.asarray(stats)
    offset = y_mean - theta[0] - theta[1] * x_mean
    terms = offset**2 + theta[1] ** 2 * sxx + 2 * abs(theta[1] * sxy) + syy
    # Residuals and the offset are differences of numbers up to `size`; their rounding
    # error is relative to `size`, not to the (possibly tiny) difference.
    size = np.max(np.abs(y)) + abs(theta[0]) + abs(theta[1]) * np.max(np.abs(x))
    rounding = 8 * N * EPS * size
    tolerance = 64 * N * EPS * (terms + exact) + 4 * rounding * (np.sqrt(terms) + rounding)
    tolerance += 1e-300  # squares below the normal range are flushed to zero on CPU
    assert abs(from_stats - exact) <= tolerance
    stats_loss.assert_max_traces(1)
    statistics.assert_max_traces(1)

