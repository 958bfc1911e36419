"""Config -> results: the compute entry point (pure JAX compute, no file I/O).

The result is plain data (lists, floats, strings) in the shape of ``results.json``;
figures and templates read nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from reportgen import theory
from reportgen.config import Config, RunConfig
from reportgen.numerics import diagnostics, model, optimize, surface
from reportgen.numerics.data import Dataset, Draws, batch_schedule, draw
from reportgen.numerics.runtime import on_device
from reportgen.optimizers import HYPERPARAMETERS
from reportgen.store.results import SCHEMA, finite_or_none, to_plain

#: Datasets up to this size are written into results.json sample by sample.
INLINE_DATA_LIMIT = 10_000
#: Grids up to this resolution are written into results.json; larger go to surface.npy.
INLINE_SURFACE_LIMIT = 256
#: At most this many variants share one batched call ...
MAX_GROUP = 256
#: ... and their (variants x samples x grid rows) stay near this many elements.
GROUP_ELEMENTS = 1 << 24

Progress = Callable[[str], None]


def dtype_of(config: Config) -> Any:
    """The JAX dtype of the configured precision."""
    return jnp.float64 if config.precision == "float64" else jnp.float32


def trajectories(
    configs: Sequence[Config], index: int, draws: Sequence[Draws], x: jax.Array, y: jax.Array
) -> optimize.Trajectory:
    """Run ``index`` of every variant in one compiled call (a leading variant axis).

    The variants share the run's optimizer, step count and batch size; their rates,
    settings, starts, data and batch orders are traced arguments.
    """
    dtype = x.dtype
    run = configs[0].runs[index]
    hyper = optimize.Hyper(*(
        jnp.asarray([getattr(config.runs[index], name) for config in configs], dtype)
        for name in HYPERPARAMETERS
    ))
    theta_init = jnp.asarray(np.stack([d.runs[index].theta_init for d in draws]), dtype)
    if draws[0].runs[index].permutations is None:
        return optimize.full_batch_runs(run.optimizer, hyper, theta_init, x, y,
                                        steps=run.epochs)
    # Mini-batch runs go one variant at a time (one compiled program, reused): vmapped,
    # their gathers and masked means round differently with the number of variants.
    records = []
    for v, (config, d) in enumerate(zip(configs, draws, strict=True)):
        indices, mask = batch_schedule(_permutations(d, index),
                                       config.batch_size(config.runs[index]))
        records.append(optimize.mini_batch_run(
            run.optimizer, optimize.Hyper(*(jnp.asarray(part)[v] for part in hyper)), theta_init[v],
            x[v], y[v], jnp.asarray(indices), jnp.asarray(mask)))
    return optimize.Trajectory(*(jnp.stack(parts) for parts in zip(*records, strict=True)))


def _permutations(draws: Draws, index: int) -> np.ndarray:
    permutations = draws.runs[index].permutations
    assert permutations is not None  # a mini-batch run
    return permutations


class RunRecord(NamedTuple):
    """One variant's trajectory, on the host."""

    thetas: np.ndarray
    losses: np.ndarray
    diverged_step: int


def run_record(
    config: Config,
    run: RunConfig,
    record: RunRecord,
    curvature: diagnostics.Curvature,
    ols: dict[str, Any],
) -> dict[str, Any]:
    """A run's entry in results.json."""
    thetas = np.asarray(record.thetas, dtype=np.float64)
    losses = np.asarray(record.losses, dtype=np.float64)
    step = int(record.diverged_step)
    diverged = step >= 0
    batch_size = config.batch_size(run)
    steps = len(losses) - 1
    final_loss = finite_or_none(losses[-1])
    gap = None if final_loss is None else final_loss / ols["loss"] - 1.0
    rate = theory.predicted_rate(
        run.optimizer, run.learning_rate, run.momentum, curvature.eigenvalues
    )
    observed = None if diverged else diagnostics.observed_rate(
        thetas, np.asarray(ols["theta"]), curvature.eigenvectors
    )
    return {
        "name": run.name,
        "optimizer": run.optimizer,
        "learning_rate": run.learning_rate,
        "batch_size": batch_size,
        "epochs": run.epochs,
        "steps": steps,
        "steps_per_epoch": steps // run.epochs,
        "full_batch": batch_size == config.data.n,
        "theta_init": thetas[0],
        "thetas": thetas,
        "losses": losses,
        "final_theta": thetas[-1] if np.all(np.isfinite(thetas[-1])) else None,
        "final_loss": final_loss,
        "gap_to_ols": gap,
        "diverged": diverged,
        "diverged_step": step if diverged else None,
        "predicted_rate": rate,
        "observed_rate": observed,
        "stable": None if rate is None else rate < 1.0,
    }


def data_record(data: Dataset) -> dict[str, Any]:
    """The data: samples while small, summary statistics always."""
    inline = len(data.x) <= INLINE_DATA_LIMIT
    return {
        "n": len(data.x),
        "x": data.x if inline else None,
        "y": data.y if inline else None,
        "summary": {
            "x_mean": float(np.mean(data.x)),
            "x_std": float(np.std(data.x)),
            "x_min": float(np.min(data.x)),
            "x_max": float(np.max(data.x)),
            "y_mean": float(np.mean(data.y)),
            "y_std": float(np.std(data.y)),
        },
    }


def surface_record(grid: surface.Surface) -> tuple[dict[str, Any], np.ndarray | None]:
    """The surface's entry, and the grid itself when it is too large to inline."""
    loss = np.asarray(grid.loss, dtype=np.float64)
    row, col = np.unravel_index(int(np.nanargmin(loss)), loss.shape)
    inline = len(grid.theta0) <= INLINE_SURFACE_LIMIT
    entry: dict[str, Any] = {
        "method": grid.method,
        "resolution": len(grid.theta0),
        "theta0": grid.theta0,
        "theta1": grid.theta1,
        "loss": loss if inline else None,
        "min_loss": float(loss[row, col]),
        "argmin": [float(grid.theta0[col]), float(grid.theta1[row])],
    }
    if not inline:
        entry["loss_file"] = "surface.npy"
    return entry, None if inline else loss


def sweep_records(
    configs: Sequence[Config], x: jax.Array, y: jax.Array
) -> list[dict[str, Any] | None]:
    """Every variant's sweep (final loss of full-batch GD at each rate), in one call."""
    sweep = configs[0].sweep
    if sweep is None:
        return [None for _ in configs]
    rates = [config.sweep.learning_rates() for config in configs if config.sweep]
    finals, steps = optimize.sweeps(
        jnp.asarray(rates, x.dtype),
        jnp.asarray([config.sweep.init for config in configs if config.sweep], x.dtype),
        x, y, steps=sweep.epochs,
    )
    records: list[dict[str, Any] | None] = []
    for config, own_rates, own_finals, own_steps in zip(
        configs, rates, np.asarray(finals, dtype=np.float64), np.asarray(steps), strict=True
    ):
        assert config.sweep is not None
        steps_list = [int(s) for s in own_steps]
        records.append({
            "learning_rates": own_rates,
            "final_losses": [finite_or_none(v) for v in own_finals],
            "diverged": [s >= 0 for s in steps_list],
            "diverged_step": [s if s >= 0 else None for s in steps_list],
            "epochs": config.sweep.epochs,
            "init": list(config.sweep.init),
        })
    return records


def surfaces(
    configs: Sequence[Config], xs: Sequence[jax.Array], ys: Sequence[jax.Array],
    x: jax.Array, y: jax.Array,
) -> list[surface.Surface]:
    """Every variant's loss grid: one compiled call for exact grids on one device."""
    settings = configs[0].surface
    method = surface.choose_method(settings.method, configs[0].data.n, settings.resolution)
    axes = [surface.axes(c.surface.theta0, c.surface.theta1, c.surface.resolution)
            for c in configs]
    if not surface.batchable(x, method):
        return [surface.loss_surface(t0, t1, xv, yv, method)
                for (t0, t1), xv, yv in zip(axes, xs, ys, strict=True)]
    platform = next(iter(x.devices())).platform
    batch = surface.row_chunk(x.shape[1], settings.resolution, platform)
    grids = np.asarray(surface.exact_grids(
        jnp.asarray(np.stack([t0 for t0, _ in axes]), x.dtype),
        jnp.asarray(np.stack([t1 for _, t1 in axes]), x.dtype), x, y, batch=batch))
    return [surface.Surface(t0, t1, grid, method) for (t0, t1), grid in zip(axes, grids,
                                                                           strict=True)]


def shape_key(config: Config) -> tuple[Any, ...]:
    """What must agree for configs to be computed together: every array shape and static
    argument (precision, device, n, each run's rule, steps and batch, grid, sweep size)."""
    runs = tuple((run.optimizer, run.epochs, config.batch_size(run)) for run in config.runs)
    sweep = None if config.sweep is None else (len(config.sweep.learning_rates()),
                                               config.sweep.epochs)
    settings = config.surface
    method = surface.choose_method(settings.method, config.data.n, settings.resolution)
    return (config.precision, config.device, config.data.n, runs, settings.resolution,
            method, sweep)


def groups(configs: Sequence[Config]) -> list[list[int]]:
    """Indices of configs that share a ``shape_key``, each group at most ``MAX_GROUP`` long
    and small enough that its batched grids stay near ``GROUP_ELEMENTS`` elements."""
    found: dict[tuple[Any, ...], list[int]] = {}
    for index, config in enumerate(configs):
        found.setdefault(shape_key(config), []).append(index)
    chunks = []
    for indices in found.values():
        config = configs[indices[0]]
        per_variant = config.data.n * config.surface.resolution
        size = max(1, min(MAX_GROUP, GROUP_ELEMENTS // max(per_variant, 1)))
        chunks += [indices[i:i + size] for i in range(0, len(indices), size)]
    return chunks


def compute(config: Config, progress: Progress | None = None) -> tuple[dict[str, Any], dict]:
    """Everything a handout shows, as plain data; plus large arrays kept out of the JSON.

    Returns ``(results, arrays)`` where ``arrays`` maps file names (``surface.npy``) to
    numpy arrays the report folder should hold beside results.json.
    """
    return compute_many([config], progress)[0]


def compute_many(
    configs: Sequence[Config], progress: Progress | None = None
) -> list[tuple[dict[str, Any], dict[str, np.ndarray]]]:
    """``compute`` of every config, in order; variants that share array shapes are computed
    together, one compiled program per step for the whole group (``jax.vmap``).

    A variant's results are the same whichever group it is computed in: the closed form
    (``lstsq``, whose batched LAPACK path rounds differently) is computed per variant, and
    everything batched is elementwise over the variant axis.
    """
    say = progress or (lambda _stage: None)
    found: dict[int, tuple[dict[str, Any], dict[str, np.ndarray]]] = {}
    for indices in groups(configs):
        members = [configs[index] for index in indices]
        found.update(zip(indices, _compute_group(members, say), strict=True))
    return [found[index] for index in range(len(configs))]


def _compute_group(
    configs: Sequence[Config], say: Progress
) -> list[tuple[dict[str, Any], dict[str, np.ndarray]]]:
    dtype = dtype_of(configs[0])
    with on_device(configs[0].device):
        say("data")
        draws = [draw(config) for config in configs]
        xs = [jnp.asarray(d.data.x, dtype) for d in draws]
        ys = [jnp.asarray(d.data.y, dtype) for d in draws]
        x, y = jnp.stack(xs), jnp.stack(ys)
        say("closed form")
        closed = [model.closed_form(xv, yv) for xv, yv in zip(xs, ys, strict=True)]
        ols = [{"theta": np.asarray(theta, np.float64), "loss": float(loss)}
               for theta, loss, _ in closed]
        curvatures = [diagnostics.curvature(np.asarray(hessian)) for *_, hessian in closed]
        say("optimizer runs")
        runs: list[list[dict[str, Any]]] = [[] for _ in configs]
        for index in range(len(configs[0].runs)):
            thetas, losses, steps = (np.asarray(part) for part in
                                     trajectories(configs, index, draws, x, y))
            for v, config in enumerate(configs):
                own = RunRecord(thetas[v], losses[v], int(steps[v]))
                runs[v].append(run_record(config, config.runs[index], own, curvatures[v],
                                          ols[v]))
        say("loss surface")
        grids = surfaces(configs, xs, ys, x, y)
        say("sweep")
        sweeps = sweep_records(configs, x, y)
    return [
        _assemble(config, d, o, c, r, g, w)
        for config, d, o, c, r, g, w in zip(configs, draws, ols, curvatures, runs, grids,
                                            sweeps, strict=True)
    ]


def _assemble(
    config: Config, draws: Draws, ols: dict[str, Any], curvature: diagnostics.Curvature,
    runs: list[dict[str, Any]], grid: surface.Surface, sweep: dict[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """results.json's data of one variant, and its large arrays."""
    surface_entry, big_grid = surface_record(grid)
    results = {
        "schema": SCHEMA,
        "config": config.normalised(),
        "data": data_record(draws.data),
        "ols": ols,
        "diagnostics": {
            "hessian": curvature.hessian,
            "hessian_eigenvalues": curvature.eigenvalues,
            "condition_number": curvature.condition_number,
            "max_stable_lr": curvature.max_stable_lr,
            "optimal_lr": curvature.optimal_lr,
        },
        "runs": runs,
        "surface": surface_entry,
        "sweep": sweep,
    }
    arrays = {} if big_grid is None else {"surface.npy": big_grid}
    return to_plain(results), arrays
