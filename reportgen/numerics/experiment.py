"""Config -> results: the compute entry point (pure JAX compute, no file I/O).

The result is the typed :class:`~reportgen.store.results.Results` (results.json is its
serialisation); figures and templates read nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from reportgen import theory
from reportgen.config.schema import Config
from reportgen.config.sections import RunConfig
from reportgen.layout import SURFACE_FILE
from reportgen.numerics import diagnostics, model, optimize, surface, tuning
from reportgen.numerics.data import Dataset, RunDraws, batch_schedule, draw
from reportgen.numerics.runtime import on_device
from reportgen.store.results import (
    OLS,
    Data,
    DataSummary,
    Diagnostics,
    Results,
    Run,
    Shuffles,
    Surface,
    Sweep,
    Twin,
    finite_or_none,
)

#: Datasets up to this size are written into results.json sample by sample.
INLINE_DATA_LIMIT = 10_000
#: Grids up to this resolution are written into results.json; larger go to surface.npy.
INLINE_SURFACE_LIMIT = 256
#: A mini-batch run is repeated with this many other shufflings (same start, same rate).
SHUFFLE_REPEATS = 20
#: ... when the repeats take at most this many update steps in all: a cheap extra (a long
#: run, 10^5 steps on 10^6 samples say, would spend minutes on it).
SHUFFLE_STEP_BUDGET = 20_000
#: A mini-batch run gets a full-batch twin only when its steps x n stay under this (the twin
#: reads every sample at every step: 10^5 steps on 10^6 samples would take minutes).
TWIN_WORK_BUDGET = 100_000_000
#: A full-batch twin keeps its whole path up to this many steps (its final numbers always).
TWIN_PATH_LIMIT = 10_000
#: An OLS loss at most this share of mean(y^2) is a perfect fit (noise = 0): it is only
#: rounding error, and a gap relative to it would divide by (nearly) zero.
PERFECT_FIT_SHARE = 1e-12

Progress = Callable[[str], None]


def dtype_of(config: Config) -> Any:
    """The JAX dtype of the configured precision."""
    return jnp.float64 if config.precision == "float64" else jnp.float32


def trajectory(
    config: Config, run: RunConfig, draws: RunDraws, x: jax.Array, y: jax.Array
) -> optimize.Trajectory:
    """One run's full trajectory, full-batch or mini-batch."""
    dtype = x.dtype
    hyper = optimize.Hyper.of(run, dtype)
    theta_init = jnp.asarray(draws.theta_init, dtype)
    if draws.permutations is None:
        return optimize.full_batch_run(run.optimizer, hyper, theta_init, x, y, steps=run.epochs)
    indices, mask = batch_schedule(draws.permutations, config.batch_size(run))
    return optimize.mini_batch_run(
        run.optimizer, hyper, theta_init, x, y, jnp.asarray(indices), jnp.asarray(mask)
    )


def shuffle_permutations(config: Config, run_index: int, repeat: int, epochs: int) -> np.ndarray:
    """Batch orders for the ``repeat``-th other shuffling of a mini-batch run.

    Drawn from numpy's PCG64 seeded by (seed, run index, repeat): independent of the
    stream the handout's own runs consume, so adding repeats changes none of their numbers.
    """
    stream = np.random.default_rng([config.seed, run_index, repeat])
    return np.stack([stream.permutation(config.data.n) for _ in range(epochs)])


def shuffle_record(
    config: Config, run_index: int, draws: RunDraws, x: jax.Array, y: jax.Array,
    optimum: np.ndarray,
) -> Shuffles | None:
    """A mini-batch run repeated with other shufflings: its final losses and thetas.

    What the run's single result is worth: the spread over shufflings from the same start.
    """
    run = config.runs[run_index]
    batch_size = config.batch_size(run)
    if draws.permutations is None:
        return None
    steps = run.epochs * -(-config.data.n // batch_size)
    if SHUFFLE_REPEATS * steps > SHUFFLE_STEP_BUDGET:
        return None
    dtype = x.dtype
    hyper = optimize.Hyper.of(run, dtype)
    theta_init = jnp.asarray(draws.theta_init, dtype)
    schedules = [batch_schedule(shuffle_permutations(config, run_index, k, run.epochs), batch_size)
                 for k in range(SHUFFLE_REPEATS)]
    indices = jnp.asarray(np.stack([s[0] for s in schedules]))
    masks = jnp.asarray(np.stack([s[1] for s in schedules]))
    finals, losses = optimize.mini_batch_finals(run.optimizer, hyper, theta_init, x, y,
                                                indices, masks)
    finals = np.asarray(finals, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged repeat: inf, then null
        distances = np.linalg.norm(finals - optimum, axis=1)
    return Shuffles(
        repeats=SHUFFLE_REPEATS,
        generator="numpy PCG64 seeded by (seed, run index, repeat)",
        final_thetas=finals,
        final_losses=np.asarray(losses, dtype=np.float64),
        final_distances=np.asarray(distances, dtype=np.float64),
    )


def twin_record(
    config: Config, run: RunConfig, draws: RunDraws, x: jax.Array, y: jax.Array, steps: int
) -> Twin | None:
    """A mini-batch run's full-batch twin: the same rule, rate and start, ``steps`` updates.

    The fair comparison for a mini-batch run: the same start and the same number of
    updates, each on all the data (its loss after ``epochs`` steps has read the data as
    often as the mini-batch run did).
    """
    if draws.permutations is None or steps * config.data.n > TWIN_WORK_BUDGET:
        return None
    dtype = x.dtype
    hyper = optimize.Hyper.of(run, dtype)
    record = optimize.full_batch_run(run.optimizer, hyper, jnp.asarray(draws.theta_init, dtype),
                                     x, y, steps=steps)
    thetas = np.asarray(record.thetas, dtype=np.float64)
    losses = np.asarray(record.losses, dtype=np.float64)
    keep = steps <= TWIN_PATH_LIMIT
    return Twin(
        steps=steps,
        thetas=thetas if keep else None,
        losses=losses if keep else None,
        final_theta=thetas[-1] if np.all(np.isfinite(thetas[-1])) else None,
        final_loss=finite_or_none(losses[-1]),
        loss_after_epochs=finite_or_none(losses[min(run.epochs, steps)]),
    )


def normal_equations(data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """X^T X and X^T y of the design matrix [1, x], in float64: the closed form's inputs."""
    x = np.asarray(data.x, dtype=np.float64)
    y = np.asarray(data.y, dtype=np.float64)
    sx, sxx = float(np.sum(x)), float(np.sum(x * x))
    return (np.array([[float(len(x)), sx], [sx, sxx]]),
            np.array([float(np.sum(y)), float(np.sum(x * y))]))
def gap_to_ols(final_loss: float | None, ols_loss: float, mean_square_y: float) -> float | None:
    """``final / OLS - 1``, the relative excess loss; None when it is not defined.

    It is not defined when the run overflowed, or when the data lie exactly on a line:
    an OLS loss of rounding size (at most ``PERFECT_FIT_SHARE`` of mean(y^2)) leaves
    nothing to be relative to.
    """
    if final_loss is None or not ols_loss > PERFECT_FIT_SHARE * mean_square_y:
        return None
    return final_loss / ols_loss - 1.0


def run_record(
    config: Config,
    run: RunConfig,
    record: optimize.Trajectory,
    curvature: diagnostics.Curvature,
    ols: OLS,
    mean_square_y: float,
    shuffles: Shuffles | None = None,
    twin: Twin | None = None,
) -> Run:
    """A run's entry in the results."""
    thetas = np.asarray(record.thetas, dtype=np.float64)
    losses = np.asarray(record.losses, dtype=np.float64)
    step = int(record.diverged_step)
    diverged = step >= 0
    batch_size = config.batch_size(run)
    steps = len(losses) - 1
    final_loss = finite_or_none(losses[-1])
    assert ols.theta is not None  # computed results always hold theta*
    gap = gap_to_ols(final_loss, ols.loss, mean_square_y)
    rate = theory.predicted_rate(
        run.optimizer, run.learning_rate, run.momentum, curvature.eigenvalues
    )
    observed = None if diverged else diagnostics.observed_rate(
        thetas, ols.theta, curvature.eigenvectors
    )
    return Run(
        name=run.name,
        optimizer=run.optimizer,
        learning_rate=run.learning_rate,
        batch_size=batch_size,
        epochs=run.epochs,
        steps=steps,
        steps_per_epoch=steps // run.epochs,
        full_batch=batch_size == config.data.n,
        theta_init=thetas[0],
        thetas=thetas,
        losses=losses,
        final_theta=thetas[-1] if np.all(np.isfinite(thetas[-1])) else None,
        final_loss=final_loss,
        gap_to_ols=gap,
        diverged=diverged,
        diverged_step=step if diverged else None,
        predicted_rate=rate,
        observed_rate=observed,
        stable=None if rate is None else rate < 1.0,
        shuffles=shuffles,
        full_batch_twin=twin,
    )


def data_record(data: Dataset) -> Data:
    """The data: samples while small, summary statistics always."""
    inline = len(data.x) <= INLINE_DATA_LIMIT
    return Data(
        n=len(data.x),
        x=np.asarray(data.x, dtype=np.float64) if inline else None,
        y=np.asarray(data.y, dtype=np.float64) if inline else None,
        summary=DataSummary(
            x_mean=float(np.mean(data.x)),
            x_std=float(np.std(data.x)),
            x_min=float(np.min(data.x)),
            x_max=float(np.max(data.x)),
            y_mean=float(np.mean(data.y)),
            y_std=float(np.std(data.y)),
        ),
    )


def surface_record(grid: surface.Surface) -> tuple[Surface, np.ndarray | None]:
    """The surface's entry, and the grid itself when it is too large to inline."""
    loss = np.asarray(grid.loss, dtype=np.float64)
    inline = len(grid.theta0) <= INLINE_SURFACE_LIMIT
    min_loss, argmin = None, None  # no finite value on the grid (the config's ranges prevent it)
    finite = np.isfinite(loss)
    if finite.any():
        row, col = np.unravel_index(int(np.argmin(np.where(finite, loss, np.inf))), loss.shape)
        min_loss = float(loss[row, col])
        argmin = np.array([float(grid.theta0[col]), float(grid.theta1[row])])
    entry = Surface(
        method=grid.method,
        resolution=len(grid.theta0),
        theta0=np.asarray(grid.theta0, dtype=np.float64),
        theta1=np.asarray(grid.theta1, dtype=np.float64),
        loss=loss if inline else None,
        min_loss=min_loss,
        argmin=argmin,
        loss_file=None if inline else SURFACE_FILE,
    )
    return entry, None if inline else loss


def sweep_record(config: Config, x: jax.Array, y: jax.Array) -> Sweep | None:
    """Final loss of full-batch GD at every swept rate, from one vmapped call."""
    if config.sweep is None:
        return None
    rates = config.sweep.learning_rates()
    finals, steps = optimize.sweep(
        jnp.asarray(rates, x.dtype),
        jnp.asarray(config.sweep.init, x.dtype),
        x,
        y,
        steps=config.sweep.epochs,
    )
    steps_list = [int(s) for s in np.asarray(steps)]
    return Sweep(
        learning_rates=np.asarray(rates, dtype=np.float64),
        final_losses=np.asarray(finals, dtype=np.float64),
        diverged=tuple(s >= 0 for s in steps_list),
        diverged_step=tuple(s if s >= 0 else None for s in steps_list),
        epochs=config.sweep.epochs,
        init=np.asarray(config.sweep.init, dtype=np.float64),
    )


def compute(config: Config, progress: Progress | None = None) -> tuple[Results, dict]:
    """Everything a handout shows; plus large arrays kept out of results.json.

    Returns ``(results, arrays)`` where ``arrays`` maps file names (``surface.npy``) to
    numpy arrays the report folder should hold beside results.json.
    """
    say = progress or (lambda _stage: None)
    dtype = dtype_of(config)
    with on_device(config.device):
        say("data")
        draws = draw(config)
        x = jnp.asarray(draws.data.x, dtype)
        y = jnp.asarray(draws.data.y, dtype)
        say("closed form")
        theta_ols, loss_ols, hessian = model.closed_form(x, y)
        xtx, xty = normal_equations(draws.data)
        ols = OLS(theta=np.asarray(theta_ols, np.float64), loss=float(loss_ols), xtx=xtx,
                  xty=xty)
        optimum = np.asarray(theta_ols, np.float64)
        curvature = diagnostics.curvature(np.asarray(hessian))
        mean_square_y = float(np.mean(np.square(draws.data.y)))
        say("optimizer runs")
        paths = [trajectory(config, run, run_draws, x, y)
                 for run, run_draws in zip(config.runs, draws.runs, strict=True)]
        for path in paths:
            jax.block_until_ready(path)
        say("mini-batch repeats")
        runs = tuple(
            run_record(config, run, path, curvature, ols, mean_square_y,
                       shuffle_record(config, index, run_draws, x, y, optimum),
                       twin_record(config, run, run_draws, x, y, len(path.losses) - 1))
            for index, (run, run_draws, path) in enumerate(
                zip(config.runs, draws.runs, paths, strict=True))
        )
        say("loss surface")
        settings = config.surface
        theta0, theta1 = surface.axes(settings.theta0, settings.theta1, settings.resolution)
        method = surface.choose_method(settings.method, config.data.n, settings.resolution)
        grid = surface.loss_surface(theta0, theta1, x, y, method)
        surface_entry, big_grid = surface_record(grid)
        say("sweep")
        sweep_entry = sweep_record(config, x, y)
        say("tuning")
        tuning_entry = tuning.tuning_record(config, x, y, curvature.max_stable_lr, optimum,
                                            ols.loss)
    results = Results(
        config=config,
        data=data_record(draws.data),
        ols=ols,
        diagnostics=Diagnostics(
            hessian=np.asarray(curvature.hessian, dtype=np.float64),
            hessian_eigenvalues=np.asarray(curvature.eigenvalues, dtype=np.float64),
            condition_number=finite_or_none(curvature.condition_number),
            max_stable_lr=finite_or_none(curvature.max_stable_lr),
            optimal_lr=finite_or_none(curvature.optimal_lr),
        ),
        runs=runs,
        surface=surface_entry,
        sweep=sweep_entry,
        tuning=tuning_entry,
    )
    arrays = {} if big_grid is None else {SURFACE_FILE: big_grid}
    # Read back through results.json's form: every non-finite number becomes what a reader
    # of the file sees (NaN in an array, None as a number), so computed and cached results
    # are the same value.
    return Results.from_dict(results.to_dict(), config), arrays


def compute_many(
    configs: Sequence[Config], progress: Progress | None = None
) -> list[tuple[Results, dict[str, np.ndarray]]]:
    """``compute`` of every config, in order.

    Every step is a jitted program whose hyperparameters, data and starts are traced
    arguments, so variants that share array shapes reuse one compiled program: a batch
    compiles once. They are deliberately not vmapped over the variant axis: measured
    here, XLA's CPU code for a vmapped lstsq, mini-batch run, exact grid (n = 40, 57,
    100, 128, 1000) and full-batch run or sweep (n = 1000) rounds differently with the
    number of variants, and a variant must be bit-identical to a single build.
    """
    return [compute(config, progress) for config in configs]
