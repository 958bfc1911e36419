"""Seeded data and per-run random draws, in the source notebook's order.

With ``rng = "numpy-legacy"`` one ``numpy.random.RandomState(seed)`` is consumed exactly
as the notebook does: x, then the noise, then for each run in order its random initial
theta (when ``init = "random"``) and, for mini-batch runs, one permutation per epoch.
With ``rng = "jax"`` every purpose gets its own ``jax.random`` key, split from the seed.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np

from reportgen.config.schema import Config
from reportgen.config.sections import RunConfig
from reportgen.numerics.runtime import x64


class Dataset(NamedTuple):
    """The regression data: y = theta0 + theta1 * x + noise * N(0, 1); float64 arrays."""

    x: np.ndarray
    y: np.ndarray


class RunDraws(NamedTuple):
    """What a run takes from the random stream: its start and its batch order."""

    theta_init: np.ndarray
    permutations: np.ndarray | None  # (epochs, n) sample order per epoch; None: full batch


class Draws(NamedTuple):
    """Everything random in a handout, drawn once and in a fixed order."""

    data: Dataset
    runs: tuple[RunDraws, ...]


def _is_minibatch(config: Config, run: RunConfig) -> bool:
    return config.batch_size(run) < config.data.n


def _fixed_init(run: RunConfig) -> np.ndarray | None:
    return None if run.init == "random" else np.asarray(run.init, dtype=np.float64)


def draw_numpy_legacy(config: Config) -> Draws:
    """Consume one ``RandomState(seed)`` in the source notebook's order."""
    stream = np.random.RandomState(config.seed)
    data = config.data
    low, high = data.x_range
    x = low + (high - low) * stream.rand(data.n, 1)
    y = data.theta[0] + data.theta[1] * x + data.noise * stream.randn(data.n, 1)
    runs = []
    for run in config.runs:
        fixed = _fixed_init(run)
        theta = stream.randn(2, 1).ravel() if fixed is None else fixed
        perms = None
        if _is_minibatch(config, run):
            perms = np.stack([stream.permutation(data.n) for _ in range(run.epochs)])
        runs.append(RunDraws(theta, perms))
    return Draws(Dataset(x.ravel(), y.ravel()), tuple(runs))


def draw_jax(config: Config) -> Draws:
    """Draw with ``jax.random``: one key per purpose, split from the seed.

    Drawn with 64-bit types whatever JAX was configured to, so the same seed gives the
    same numbers in every process.
    """
    with x64():
        return _draw_jax(config)


def _draw_jax(config: Config) -> Draws:
    data = config.data
    key_x, key_noise, key_runs = jax.random.split(jax.random.PRNGKey(config.seed), 3)
    low, high = data.x_range
    x = np.asarray(jax.random.uniform(key_x, (data.n,), dtype=np.float64), dtype=np.float64)
    x = low + (high - low) * x
    noise = np.asarray(jax.random.normal(key_noise, (data.n,), dtype=np.float64))
    y = data.theta[0] + data.theta[1] * x + data.noise * noise
    runs = []
    for run, key in zip(config.runs, jax.random.split(key_runs, len(config.runs)), strict=True):
        key_init, key_shuffle = jax.random.split(key)
        fixed = _fixed_init(run)
        theta = (
            np.asarray(jax.random.normal(key_init, (2,), dtype=np.float64))
            if fixed is None
            else fixed
        )
        perms = None
        if _is_minibatch(config, run):
            keys = jax.random.split(key_shuffle, run.epochs)
            perms = np.stack([np.asarray(jax.random.permutation(k, data.n)) for k in keys])
        runs.append(RunDraws(theta, perms))
    return Draws(Dataset(x, y), tuple(runs))


def draw(config: Config) -> Draws:
    """All random draws of a handout, from the configured stream."""
    if config.data.rng == "numpy-legacy":
        return draw_numpy_legacy(config)
    return draw_jax(config)


def batch_schedule(permutations: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-step sample indices and a validity mask, padded to a static batch shape.

    Each epoch walks its permutation in slices of ``batch_size``; when ``n % batch_size``
    is not zero the last slice is short (as in the notebook) and its padding is masked.
    Returns ``(indices, mask)``, both ``(epochs * ceil(n / batch_size), batch_size)``.
    """
    epochs, n = permutations.shape
    per_epoch = -(-n // batch_size)
    padded = np.zeros((epochs, per_epoch * batch_size), dtype=np.int32)
    mask = np.zeros((epochs, per_epoch * batch_size), dtype=bool)
    padded[:, :n] = permutations
    mask[:, :n] = True
    shape = (epochs * per_epoch, batch_size)
    return padded.reshape(shape), mask.reshape(shape)
