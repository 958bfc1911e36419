"""Fair comparisons: each compared method at its own best fixed setting, found by one sweep.

When a config compares update rules (two or more optimizers among full-batch runs that
share one fixed start and one number of steps), every one of those rules is tuned by the
same declared procedure before any is ranked:

- the learning rates: ``theory.rate_grid(scale)``, a log-spaced grid of 16 per decade,
  rounded to three significant figures, from a thousandth of a scale to about 3.7 times
  it; the scale is 2/lambda_max for gradient descent and the momentum rules (whose stable
  rates it sets) and the start's distance to theta* for Adam and RMSProp (whose steps
  are about eta per coordinate);
- beta, for momentum and Nesterov only: every value of ``theory.MOMENTUM_GRID``;
- every setting runs from the common start for the common number of full-batch steps
  (the rule's other settings are the first such run's); its score is the full-data loss
  at the end; a setting whose loss ends non-finite or above ``DIVERGENCE_FACTOR`` times
  the start diverged and is not a candidate;
- the best setting has the lowest final loss; settings within ``theory.tie_tolerance``
  (1e-9 x J*, or rounding where that is larger) of it tie,
  and of those the smallest rate (then the smallest beta) is taken.

Each rule's grid is one vmapped, jitted program (the loss and its gradient come from the
data's sufficient statistics, O(1) per step), so tuning costs one compile per rule.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array, lax

from reportgen.config.schema import Config
from reportgen.config.sections import RunConfig
from reportgen.numerics.model import statistics, stats_loss
from reportgen.numerics.optimize import Hyper, make_optimizer
from reportgen.optimizers import OPTIMIZERS
from reportgen.store.results import Tuned, Tuning
from reportgen.theory import DIVERGENCE_FACTOR, MOMENTUM_GRID, rate_grid, tie_tolerance


def compared_runs(config: Config) -> list[RunConfig]:
    """The runs a comparison ranks: full-batch runs from one fixed start with one number
    of steps, when they use two or more update rules; otherwise none."""
    candidates = [run for run in config.runs
                  if run.init != "random" and config.batch_size(run) == config.data.n]
    groups: dict[tuple, list[RunConfig]] = {}
    for run in candidates:
        groups.setdefault((tuple(run.init), run.epochs), []).append(run)
    best = max(groups.values(), key=len, default=[])
    return best if len({run.optimizer for run in best}) >= 2 else []


@partial(jax.jit, static_argnames=("name", "steps"))
def _final_losses(name: str, hypers: Hyper, theta_init: Array, stats: Array,
                  steps: int) -> tuple[Array, Array]:
    """Final loss and theta of the rule at every setting of ``hypers`` (vmapped)."""
    grad = jax.grad(stats_loss)

    def one(hyper: Hyper) -> tuple[Array, Array]:
        optimizer = make_optimizer(name, hyper)

        def step(carry: tuple[Array, optax.OptState], _: None) -> tuple[tuple, None]:
            theta, state = carry
            updates, state = optimizer.update(grad(theta, stats), state, theta)
            return (optax.apply_updates(theta, updates), state), None

        (theta, _), _ = lax.scan(step, (theta_init, optimizer.init(theta_init)), length=steps)
        return stats_loss(theta, stats), theta

    return jax.vmap(one)(hypers)


def tune_rule(run: RunConfig, steps: int, theta_init: np.ndarray, x: Array, y: Array,
              scale: float, tolerance: float) -> Tuned:
    """One rule's grid from the common start: its final losses and its best setting."""
    rates = rate_grid(scale)
    betas = np.array(MOMENTUM_GRID if "momentum" in OPTIMIZERS[run.optimizer].settings
                     else [run.momentum], dtype=np.float64)
    grid_beta, grid_rate = np.meshgrid(betas, rates, indexing="ij")
    dtype = x.dtype
    base = Hyper.of(run, dtype)
    size = grid_rate.size
    hypers = base._replace(
        learning_rate=jnp.asarray(grid_rate.ravel(), dtype),
        momentum=jnp.asarray(grid_beta.ravel(), dtype),
        **{name: jnp.full(size, value, dtype) for name, value in base._asdict().items()
           if name not in ("learning_rate", "momentum")})
    stats = statistics(x, y).astype(dtype)
    start = jnp.asarray(theta_init, dtype)
    losses, thetas = _final_losses(run.optimizer, hypers, start, stats, steps)
    losses = np.asarray(losses, dtype=np.float64).reshape(grid_rate.shape)
    thetas = np.asarray(thetas, dtype=np.float64).reshape(*grid_rate.shape, 2)
    initial = float(stats_loss(start, stats))
    with np.errstate(invalid="ignore"):
        diverged = ~np.isfinite(losses) | (losses > DIVERGENCE_FACTOR * max(initial, 1e-30))
    losses = np.where(diverged, np.nan, losses)
    best = _best(losses, tolerance)
    has_beta = len(betas) > 1
    if best is None:
        return Tuned(run.optimizer, rates, betas if has_beta else None, losses, None, None,
                     None, None, 0)
    i, j, ties = best
    return Tuned(run.optimizer, rates, betas if has_beta else None, losses,
                 float(rates[j]), float(betas[i]) if has_beta else None, float(losses[i, j]),
                 thetas[i, j], ties)


def _best(losses: np.ndarray, tolerance: float) -> tuple[int, int, int] | None:
    """(beta index, rate index) of the best setting and how many settings tie for it: the
    lowest final loss, ties (within ``tolerance``) to the smallest rate, then the smallest
    beta."""
    finite = np.isfinite(losses)
    if not finite.any():
        return None
    lowest = float(np.min(losses[finite]))
    tied = finite & (losses <= lowest + tolerance)
    rows, cols = np.nonzero(tied)
    order = np.lexsort((rows, cols))  # by rate index, then beta index
    return int(rows[order[0]]), int(cols[order[0]]), len(rows)


def tuning_record(config: Config, x: Array, y: Array, max_stable_lr: float,
                  optimum: np.ndarray, floor: float) -> Tuning | None:
    """Every compared rule tuned by the declared procedure, or None without a comparison."""
    runs = compared_runs(config)
    if not runs:
        return None
    steps, theta_init = runs[0].epochs, np.asarray(runs[0].init, dtype=np.float64)
    distance = float(np.linalg.norm(theta_init - optimum))
    tolerance = tie_tolerance(floor, float(np.mean(np.square(np.asarray(y, np.float64)))))
    methods = []
    for name in dict.fromkeys(run.optimizer for run in runs):
        first = next(run for run in runs if run.optimizer == name)
        adaptive = OPTIMIZERS[name].family == "adaptive"
        scale = distance if adaptive else max_stable_lr
        if not (math.isfinite(scale) and scale > 0):
            scale = 1.0  # the start is theta* itself: any grid will do
        methods.append(tune_rule(first, steps, theta_init, x, y, scale, tolerance))
    return Tuning(steps=steps, init=theta_init, methods=tuple(methods))
