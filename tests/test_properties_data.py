"""Properties of the random draws and the batch schedule (reportgen.data).

Mini-batch gradients of one epoch average to the full gradient, every sample is visited
once per epoch, and the numpy-legacy stream is numpy's own RandomState, draw for draw.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import floats, samples
from tracing import counted_jit

from reportgen import config
from reportgen.numerics import data, model

pytestmark = pytest.mark.property

N = 32
EPS = np.finfo(np.float64).eps
BATCH_SIZES = [1, 3, 5, 7, 8, 13, 31, 32]


xs = samples(N, 10.0)
ys = samples(N, 100.0)
thetas = samples(2, 50.0)


def _batch_gradients(theta, x, y, indices, mask):
    """Each batch's masked-MSE gradient and its real size, at one fixed theta."""
    def one(index, valid):
        return model.masked_mse_gradient(theta, x[index], y[index], valid), jnp.sum(valid)
    return jax.vmap(one)(indices, mask)


batch_gradients = counted_jit(_batch_gradients)
full_gradient = counted_jit(model.mse_gradient)


@given(thetas, xs, ys, st.permutations(range(N)), st.sampled_from(BATCH_SIZES))
def test_one_epoch_of_batch_gradients_averages_to_the_full_gradient(
    theta: np.ndarray, x: np.ndarray, y: np.ndarray, order: list[int], batch_size: int
) -> None:
    """sum_b (m_b / n) grad_b = grad: the batch MSEs, weighted by batch size (the short
    last batch included), add up to the full MSE."""
    indices, mask = data.batch_schedule(np.array([order]), batch_size)
    grads, sizes = batch_gradients(theta, x, y, indices, mask)
    sizes = np.asarray(sizes)
    assert sizes.sum() == N
    if N % batch_size:
        assert sizes[-1] == N % batch_size and np.all(sizes[:-1] == batch_size)
    average = (sizes[:, None] * np.asarray(grads)).sum(axis=0) / N
    full = np.asarray(full_gradient(theta, x, y))
    design = np.column_stack([np.ones(N), x])
    scale = 2.0 / N * np.abs(design).T @ (np.abs(y) + np.abs(design) @ np.abs(theta))
    np.testing.assert_array_less(np.abs(average - full), 16 * N * EPS * scale + 1e-300)
    batch_gradients.assert_max_traces(len(BATCH_SIZES))
    full_gradient.assert_max_traces(1)


@given(st.integers(1, 300), st.integers(1, 5), st.data())
def test_each_epoch_visits_every_sample_exactly_once(n: int, epochs: int, draw) -> None:
    """The schedule walks each permutation in order; padding is masked and never counted."""
    batch_size = draw.draw(st.integers(1, n), label="batch_size")
    permutations = np.stack([draw.draw(st.permutations(range(n))) for _ in range(epochs)])
    indices, mask = data.batch_schedule(permutations, batch_size)
    per_epoch = -(-n // batch_size)
    assert indices.shape == mask.shape == (epochs * per_epoch, batch_size)
    for epoch in range(epochs):
        rows = slice(epoch * per_epoch, (epoch + 1) * per_epoch)
        visited = indices[rows][mask[rows]]
        np.testing.assert_array_equal(visited, permutations[epoch])  # in the shuffled order
        assert np.bincount(visited, minlength=n).tolist() == [1] * n
        counts = mask[rows].sum(axis=1)
        assert np.all(counts[:-1] == batch_size) and counts[-1] == n - batch_size * (per_epoch - 1)


@st.composite
def legacy_configs(draw: st.DrawFn) -> config.Config:
    n = draw(st.integers(2, 60))
    runs = []
    for index in range(draw(st.integers(1, 4))):
        run: dict = {"name": f"run {index}", "epochs": draw(st.integers(1, 4))}
        if draw(st.booleans()):
            run["batch_size"] = draw(st.integers(1, n))
        if draw(st.booleans()):
            run["init"] = [draw(floats(10.0)), draw(floats(10.0))]
        runs.append(run)
    low = draw(floats(10.0))
    return config.validate({
        "seed": draw(st.integers(0, 2**32 - 1)),
        "data": {"n": n, "theta": [draw(floats(10.0)), draw(floats(10.0))],
                 "x_range": [low, low + draw(st.floats(0.01, 10.0))],
                 "noise": draw(st.floats(0.0, 5.0)), "rng": "numpy-legacy"},
        "runs": runs,
    })


@given(legacy_configs())
def test_numpy_legacy_stream_is_numpy_randomstate_draw_for_draw(cfg: config.Config) -> None:
    """x = low + width * rand(n, 1); y = t0 + t1 x + noise * randn(n, 1); then per run
    randn(2, 1) when random, then one permutation(n) per epoch for mini-batch runs."""
    draws = data.draw_numpy_legacy(cfg)
    stream = np.random.RandomState(cfg.seed)
    low, high = cfg.data.x_range
    x = low + (high - low) * stream.rand(cfg.data.n, 1)
    y = cfg.data.theta[0] + cfg.data.theta[1] * x + cfg.data.noise * stream.randn(cfg.data.n, 1)
    np.testing.assert_array_equal(draws.data.x, x.ravel())
    np.testing.assert_array_equal(draws.data.y, y.ravel())
    for run, got in zip(cfg.runs, draws.runs, strict=True):
        if run.init == "random":
            np.testing.assert_array_equal(got.theta_init, stream.randn(2, 1).ravel())
        else:
            np.testing.assert_array_equal(got.theta_init, run.init)
        if cfg.batch_size(run) < cfg.data.n:
            assert got.permutations is not None
            for epoch in range(run.epochs):
                np.testing.assert_array_equal(got.permutations[epoch],
                                              stream.permutation(cfg.data.n))
        else:
            assert got.permutations is None


@given(st.integers(0, 2**32 - 1), st.sampled_from(["numpy-legacy", "jax"]),
       st.integers(1, 3), st.integers(1, 3))
def test_data_do_not_depend_on_the_runs(seed: int, rng: str, runs_a: int, runs_b: int) -> None:
    """x and y come first (numpy) or from their own keys (jax): runs never shift them."""
    def make(count: int) -> config.Config:
        runs = [{"name": f"r{i}", "epochs": 2, "batch_size": 8} for i in range(count)]
        return config.validate({"seed": seed, "data": {"n": N, "rng": rng}, "runs": runs})

    first, second = data.draw(make(runs_a)), data.draw(make(runs_b))
    np.testing.assert_array_equal(first.data.x, second.data.x)
    np.testing.assert_array_equal(first.data.y, second.data.y)
    for run in first.runs:
        assert run.permutations is not None
        for order in run.permutations:
            np.testing.assert_array_equal(np.sort(order), np.arange(N))
