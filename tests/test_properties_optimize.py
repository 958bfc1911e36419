"""Properties of the optimizer runs (reportgen.optimize): lax.scan trajectories, optax's
update rules, stability below 2/L and divergence above it, momentum's linear rates.

Every example uses N samples and a fixed number of steps; hyperparameters travel as
float64 arrays, so each (optimizer, steps) pair compiles once. ``counted_jit`` re-jits the
package's own functions with a trace counter to prove it.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import numpy_reference as ref
import optax
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from tracing import counted_jit

from reportgen import theory
from reportgen.numerics import data, diagnostics, model, optimize

pytestmark = pytest.mark.property

N = 32
EPS = np.finfo(np.float64).eps
STATIC = ("name", "steps")


def floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False, width=64,
                     allow_subnormal=False)  # XLA on CPU flushes subnormals to zero


def well_spread(x: np.ndarray) -> bool:
    return float(np.std(x)) > 0.2


xs = hnp.arrays(np.float64, N, elements=floats(-3.0, 3.0)).filter(well_spread)
ys = hnp.arrays(np.float64, N, elements=floats(-20.0, 20.0))
thetas = hnp.arrays(np.float64, 2, elements=floats(-10.0, 10.0))
optimizers = st.sampled_from(["gd", "momentum", "nesterov", "adam", "rmsprop"])


@st.composite
def hypers(draw: st.DrawFn) -> dict[str, float]:
    """Every optimizer's numbers; the learning rate as a fraction of 2/L, set per test."""
    return {
        "momentum": draw(floats(0.0, 0.95)),
        "b1": draw(floats(0.0, 0.99)),
        "b2": draw(floats(0.5, 0.9999)),
        "decay": draw(floats(0.5, 0.99)),
        "eps": draw(floats(1e-10, 1e-3)),
    }


def as_hyper(learning_rate: float, numbers: dict[str, float]) -> optimize.Hyper:
    """float64 arrays, never Python floats: weak types would be a second trace signature."""
    values = {**optimize.Hyper._field_defaults, "learning_rate": learning_rate, **numbers}
    return optimize.Hyper(*(jnp.asarray(values[k], jnp.float64) for k in optimize.HYPERPARAMETERS))


def loss_atol(x: np.ndarray, y: np.ndarray, thetas: np.ndarray) -> float:
    """Absolute rounding of a loss near zero: residuals are differences of numbers this big
    (mini-batch runs record the loss from sufficient statistics, which cancel)."""
    thetas = np.abs(np.asarray(thetas))
    size = np.max(np.abs(y)) + np.max(thetas[:, 0]) + np.max(thetas[:, 1]) * np.max(np.abs(x))
    # 1e-300: squared residuals below the normal range are flushed to zero by XLA on CPU.
    return float(64 * N * EPS * size**2) + 1e-300


def curvature(x: np.ndarray) -> diagnostics.Curvature:
    return diagnostics.curvature(ref.hessian(x))


ols = counted_jit(model.ols)


# ---------------------------------------------------------------- lax.scan and optax


scan_run = counted_jit(optimize.full_batch_run, static_argnames=STATIC)


def _one_step(name: str, hyper: optimize.Hyper, theta, state, x, y):
    optimizer = optimize.make_optimizer(name, hyper)
    updates, state = optimizer.update(model.mse_gradient(theta, x, y), state, theta)
    theta = optax.apply_updates(theta, updates)
    return theta, state, model.mse_loss(theta, x, y)


one_step = counted_jit(_one_step, static_argnames=("name",))
STEPS = 8


@given(optimizers, thetas, xs, ys, floats(0.01, 1.9), hypers())
def test_scan_trajectory_equals_an_eager_python_loop(
    name: str, theta: np.ndarray, x: np.ndarray, y: np.ndarray, fraction: float,
    numbers: dict[str, float],
) -> None:
    """lax.scan records the start, then each step's theta and full-data loss, in order."""
    hyper = as_hyper(fraction * curvature(x).max_stable_lr, numbers)
    record = scan_run(name, hyper, jnp.asarray(theta), x, y, steps=STEPS)
    current = jnp.asarray(theta)
    state = optimize.make_optimizer(name, hyper).init(current)
    loop_thetas, loop_losses = [current], [model.mse_loss(current, x, y)]
    for _ in range(STEPS):
        current, state, value = one_step(name, hyper, current, state, x, y)
        loop_thetas.append(current)
        loop_losses.append(value)
    assert record.thetas.shape == (STEPS + 1, 2) and record.losses.shape == (STEPS + 1,)
    np.testing.assert_allclose(record.thetas, np.stack(loop_thetas), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(record.losses, np.stack(loop_losses), rtol=1e-12, atol=1e-300)
    scan_run.assert_max_traces(5)  # one per optimizer
    one_step.assert_max_traces(5)


def _sgd_step(theta, g, lr):
    optimizer = optax.sgd(lr)
    updates, _ = optimizer.update(g, optimizer.init(theta), theta)
    return optax.apply_updates(theta, updates), theta - lr * g


sgd_step = counted_jit(_sgd_step)


# |g| > 1e-290 keeps lr * g out of the subnormals, which XLA on CPU flushes to zero.
gradients = floats(-1e3, 1e3).filter(lambda value: value == 0 or abs(value) > 1e-290)


@given(thetas, hnp.arrays(np.float64, 2, elements=gradients), floats(1e-6, 10.0))
def test_optax_sgd_is_exactly_the_hand_update(
    theta: np.ndarray, g: np.ndarray, lr: float
) -> None:
    """optax.sgd(lr): updates = -lr g, applied by addition: theta - lr g, bit for bit."""
    by_optax, by_hand = sgd_step(theta, g, jnp.asarray(lr))
    np.testing.assert_array_equal(by_optax, by_hand)
    # numpy agrees to an ulp: XLA may fuse the multiply-add into one FMA rounding.
    np.testing.assert_allclose(by_hand, theta - lr * g, rtol=2 * EPS,
                               atol=float(np.max(np.abs(lr * g))) * EPS)
    sgd_step.assert_max_traces(1)


gd_run = counted_jit(optimize.full_batch_run, static_argnames=STATIC)


@given(thetas, xs, ys, floats(0.01, 1.9), hypers(), optimizers)
def test_optax_rules_match_a_numpy_reimplementation(
    theta: np.ndarray, x: np.ndarray, y: np.ndarray, fraction: float,
    numbers: dict[str, float], name: str,
) -> None:
    """gd, momentum, nesterov, adam, rmsprop: optax's documented formulas, in numpy."""
    lr = fraction * curvature(x).max_stable_lr
    record = gd_run(name, as_hyper(lr, numbers), jnp.asarray(theta), x, y, steps=6)
    expected = ref.run(name, {"learning_rate": lr, **numbers}, theta, x, y, epochs=6)
    scale = np.max(np.abs(expected.thetas)) + lr * 6
    np.testing.assert_allclose(record.thetas, expected.thetas, rtol=1e-11, atol=1e-11 * scale)
    np.testing.assert_allclose(record.losses, expected.losses, rtol=1e-10,
                               atol=loss_atol(x, y, expected.thetas))
    gd_run.assert_max_traces(5)


# ---------------------------------------------------------------- stability and 2/L


stable_run = counted_jit(optimize.full_batch_run, static_argnames=STATIC)


@given(thetas, xs, ys, floats(0.001, 0.999))
def test_full_batch_loss_never_increases_below_two_over_l(
    theta: np.ndarray, x: np.ndarray, y: np.ndarray, fraction: float
) -> None:
    """For lr < 2/L each eigen-component of the error shrinks by |1 - lr l| < 1."""
    lr = fraction * curvature(x).max_stable_lr
    record = stable_run("gd", as_hyper(lr, {}), jnp.asarray(theta), x, y, steps=64)
    losses = np.asarray(record.losses)
    # A rise of a few ulps of the loss is rounding, not a step uphill; so is jitter at the
    # floor where theta has converged to rounding and the residuals are ~ EPS * size.
    size = np.max(np.abs(y)) + np.max(np.abs(np.asarray(record.thetas))) * (1 + np.max(np.abs(x)))
    floor = (64 * EPS * size) ** 2 + 1e-300
    assert np.all(losses[1:] <= losses[:-1] * (1 + 1e-12) + floor)
    assert int(record.diverged_step) == -1
    stable_run.assert_max_traces(1)


unstable_run = counted_jit(optimize.full_batch_run, static_argnames=STATIC)


@given(xs, ys, floats(1.05, 4.0), floats(0.5, 10.0), st.sampled_from([-1.0, 1.0]))
def test_run_above_two_over_l_along_top_eigenvector_diverges_and_is_flagged(
    x: np.ndarray, y: np.ndarray, fraction: float, offset: float, sign: float
) -> None:
    """Along the top eigenvector the error grows by |1 - lr L| > 1 per step."""
    bend = curvature(x)
    lr = fraction * bend.max_stable_lr
    top = bend.eigenvectors[:, -1]
    start = np.asarray(ols(x, y)) + sign * offset * top
    record = unstable_run("gd", as_hyper(lr, {}), jnp.asarray(start), x, y, steps=200)
    losses = np.asarray(record.losses)
    step = int(record.diverged_step)
    assert step >= 1
    assert step == ref.first_divergence(losses)  # where the final blow-up starts
    # Before it blows up, the excess loss grows by exactly (1 - lr L)^2 per step.
    excess = losses[:4] - float(model.mse_loss(np.asarray(ols(x, y)), x, y))
    growth = (1 - lr * bend.eigenvalues[-1]) ** 2
    np.testing.assert_allclose(excess[1:] / excess[:-1], growth, rtol=1e-6)
    unstable_run.assert_max_traces(1)
    ols.assert_max_traces(1)


# ---------------------------------------------------------------- momentum's linear rate


momentum_run = counted_jit(optimize.full_batch_run, static_argnames=STATIC)


def fit_recurrence(errors: np.ndarray) -> np.ndarray | None:
    """(a, b) with e[t+1] = a e[t] + b e[t-1], fitted where e is far above rounding."""
    usable = np.abs(errors) > 1e-7 * np.abs(errors[0])
    rows = [t for t in range(1, len(errors) - 1) if usable[t - 1] and usable[t] and usable[t + 1]]
    if len(rows) < 4:
        return None
    lhs = np.array([[errors[t], errors[t - 1]] for t in rows])
    rhs = np.array([errors[t + 1] for t in rows])
    if np.linalg.cond(lhs) > 1e6:
        return None
    solution, *_ = np.linalg.lstsq(lhs, rhs, rcond=None)
    return solution


@given(xs, ys, st.sampled_from(["momentum", "nesterov"]), floats(0.05, 0.95),
       floats(0.3, 0.95), hnp.arrays(np.float64, 2, elements=floats(0.5, 5.0)))
def test_momentum_contraction_matches_the_companion_matrix_rate(
    x: np.ndarray, y: np.ndarray, name: str, fraction: float, beta: float,
    offset: np.ndarray,
) -> None:
    """Along eigenvalue l the error follows e' = a e - b e_prev with optax's trace:
    heavy ball a = 1 + beta - lr l, b = beta; nesterov a = (1 + beta)(1 - lr l),
    b = beta (1 - lr l). The spectral radius is theory.heavy_ball_rate."""
    bend = curvature(x)
    lr = fraction / bend.eigenvalues[-1]
    optimum = np.asarray(ols(x, y))
    start = optimum + bend.eigenvectors @ offset
    record = momentum_run(name, as_hyper(lr, {"momentum": beta}), jnp.asarray(start), x, y,
                          steps=40)
    errors = (np.asarray(record.thetas) - optimum) @ bend.eigenvectors
    observed = []
    for k, value in enumerate(bend.eigenvalues):
        fitted = fit_recurrence(errors[:, k])
        assume(fitted is not None)
        shrink = 1 - lr * value
        if name == "momentum":
            expected = np.array([1 + beta - lr * value, -beta])
        else:
            expected = np.array([(1 + beta) * shrink, -beta * shrink])
        np.testing.assert_allclose(fitted, expected, rtol=1e-5, atol=1e-6)
        companion = np.array([[fitted[0], fitted[1]], [1.0, 0.0]])
        observed.append(np.max(np.abs(np.linalg.eigvals(companion))))
    predicted = theory.heavy_ball_rate(lr, beta, bend.eigenvalues, name == "nesterov")
    # The spectral radius is ill-conditioned at a double root (sqrt of the fit's error).
    assert max(observed) == pytest.approx(predicted, rel=1e-2, abs=1e-3)
    momentum_run.assert_max_traces(2)
    ols.assert_max_traces(1)


# ---------------------------------------------------------------- other paths agree


#: Batch sizes with plain GD (SGD, short last batches of 4 and 6, one full batch), and
#: every other rule at one short-last-batch size: each pair is one compile.
SCHEDULES = [("gd", 1), ("gd", 7), ("gd", 13), ("gd", N), ("momentum", 7), ("nesterov", 7),
             ("adam", 7), ("rmsprop", 7)]
mini_run = counted_jit(optimize.mini_batch_run, static_argnames=("name",))


@given(thetas, xs, ys, floats(0.01, 0.9), st.sampled_from(SCHEDULES),
       st.lists(st.permutations(range(N)), min_size=3, max_size=3), hypers())
def test_mini_batch_run_equals_the_notebook_loop_with_a_short_last_batch(
    theta: np.ndarray, x: np.ndarray, y: np.ndarray, fraction: float,
    schedule: tuple[str, int], orders: list[list[int]], numbers: dict[str, float],
) -> None:
    """Padded, masked batches give the notebook's slices, including the short last one."""
    name, batch_size = schedule
    lr = fraction * curvature(x).max_stable_lr
    permutations = np.array(orders)
    indices, mask = data.batch_schedule(permutations, batch_size)
    record = mini_run(name, as_hyper(lr, numbers), jnp.asarray(theta), x, y,
                      jnp.asarray(indices), jnp.asarray(mask))
    expected = ref.run(name, {"learning_rate": lr, **numbers}, theta, x, y, epochs=3,
                       batch_size=batch_size, permutations=permutations)
    assert record.thetas.shape == expected.thetas.shape
    scale = np.max(np.abs(expected.thetas)) + lr * len(indices)
    np.testing.assert_allclose(record.thetas, expected.thetas, rtol=1e-10, atol=1e-10 * scale)
    np.testing.assert_allclose(record.losses, expected.losses, rtol=1e-9,
                               atol=loss_atol(x, y, expected.thetas))
    mini_run.assert_max_traces(len(SCHEDULES))


whole_batch_run = counted_jit(optimize.mini_batch_run, static_argnames=("name",))
full_run = counted_jit(optimize.full_batch_run, static_argnames=STATIC)


@given(thetas, xs, ys, floats(0.01, 1.9), st.permutations(range(N)))
def test_mini_batch_of_all_samples_is_full_batch_gd(
    theta: np.ndarray, x: np.ndarray, y: np.ndarray, fraction: float, order: list[int]
) -> None:
    lr = fraction * curvature(x).max_stable_lr
    hyper = as_hyper(lr, {})
    indices, mask = data.batch_schedule(np.array([order] * 6), N)
    mini = whole_batch_run("gd", hyper, jnp.asarray(theta), x, y, jnp.asarray(indices),
                           jnp.asarray(mask))
    full = full_run("gd", hyper, jnp.asarray(theta), x, y, steps=6)
    np.testing.assert_allclose(mini.thetas, full.thetas, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mini.losses, full.losses, rtol=1e-12,
                               atol=loss_atol(x, y, full.thetas))
    whole_batch_run.assert_max_traces(1)
    full_run.assert_max_traces(1)


sweep = counted_jit(optimize.sweep, static_argnames=("steps",))
sweep_reference = counted_jit(optimize.full_batch_run, static_argnames=STATIC)
SWEEP = 3  # stable and unstable rates each


@given(thetas, xs, ys, hnp.arrays(np.float64, SWEEP, elements=floats(0.01, 0.99)),
       hnp.arrays(np.float64, SWEEP, elements=floats(1.2, 3.0)))
def test_sufficient_statistics_sweep_equals_full_batch_runs(
    theta: np.ndarray, x: np.ndarray, y: np.ndarray, stable: np.ndarray, unstable: np.ndarray
) -> None:
    """The vmapped sweep on (xbar, ybar, Sxx, Sxy, Syy) is GD on the samples themselves:
    the same final loss below 2/L, the same divergence step (first_divergence's) above."""
    # Started at the optimum, an unstable run grows only rounding, differently on each path.
    assume(float(np.linalg.norm(theta - np.asarray(ols(x, y)))) > 1e-3)
    rates = np.concatenate([stable, unstable]) * curvature(x).max_stable_lr
    finals, steps = sweep(jnp.asarray(rates), jnp.asarray(theta), x, y, steps=40)
    for rate, final, step in zip(rates, np.asarray(finals), np.asarray(steps), strict=True):
        record = sweep_reference("gd", as_hyper(rate, {}), jnp.asarray(theta), x, y, steps=40)
        assert step == int(record.diverged_step)
        if step < 0:
            size = float(np.max(np.abs(y))) + np.max(np.abs(np.asarray(record.thetas))) * 4
            assert final == pytest.approx(float(record.losses[-1]), rel=1e-9,
                                          abs=1e3 * N * EPS * size**2)
    sweep.assert_max_traces(1)
    sweep_reference.assert_max_traces(1)
