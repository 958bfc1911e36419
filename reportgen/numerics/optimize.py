"""Optimizer runs as ``lax.scan`` over steps, returning the whole trajectory.

Update rules come from optax: ``gd`` is ``optax.sgd(lr)`` (exactly theta - lr * g),
``momentum`` and ``nesterov`` are ``optax.sgd`` with a trace, ``adam`` and ``rmsprop``
are optax's own. Hyperparameters travel as traced arrays, so runs that differ only in
their numbers share one compiled program.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array, lax
from jax.typing import ArrayLike

from reportgen.numerics.model import masked_mse_loss, mse_loss, statistics, stats_loss
from reportgen.optimizers import DEFAULTS, HYPERPARAMETERS
from reportgen.theory import DIVERGENCE_FACTOR

__all__ = ["DIVERGENCE_FACTOR", "HYPERPARAMETERS", "Hyper", "Trajectory", "full_batch_run",
           "make_optimizer", "mini_batch_finals", "mini_batch_run", "sweep", "sweep_single"]


class Hyper(NamedTuple):
    """An optimizer's numbers (only those its rule reads matter); the defaults are optax's
    (``reportgen.optimizers.DEFAULTS``)."""

    learning_rate: ArrayLike
    momentum: ArrayLike = DEFAULTS["momentum"]
    b1: ArrayLike = DEFAULTS["b1"]
    b2: ArrayLike = DEFAULTS["b2"]
    decay: ArrayLike = DEFAULTS["decay"]
    eps: ArrayLike = DEFAULTS["eps"]

    @classmethod
    def of(cls, settings: object, dtype: Any) -> Hyper:
        """A run's numbers, read by name from anything that has them (a run's config), as
        traced arrays of ``dtype``."""
        return cls(**{name: jnp.asarray(getattr(settings, name), dtype) for name in cls._fields})


if Hyper._fields != HYPERPARAMETERS:  # pragma: no cover - one list of names, one order
    raise AssertionError("Hyper's fields must be reportgen.optimizers.HYPERPARAMETERS")


class Trajectory(NamedTuple):
    """A run's record: ``steps + 1`` thetas and full-data losses, the start first."""

    thetas: Array
    losses: Array
    diverged_step: Array  # first step whose loss is non-finite or exploded; -1 when none


#: optax's transformation for each name of ``reportgen.optimizers.OPTIMIZERS``.
UPDATE_RULES: dict[str, Callable[[Hyper], optax.GradientTransformation]] = {
    "gd": lambda h: optax.sgd(h.learning_rate),
    "momentum": lambda h: optax.sgd(h.learning_rate, momentum=h.momentum),
    "nesterov": lambda h: optax.sgd(h.learning_rate, momentum=h.momentum, nesterov=True),
    "adam": lambda h: optax.adam(h.learning_rate, b1=h.b1, b2=h.b2, eps=h.eps),
    "rmsprop": lambda h: optax.rmsprop(h.learning_rate, decay=h.decay, eps=h.eps),
}


def make_optimizer(name: str, hyper: Hyper) -> optax.GradientTransformation:
    """The optax transformation for an optimizer name."""
    rule = UPDATE_RULES.get(name)
    if rule is None:
        raise ValueError(f"unknown optimizer {name!r}")
    return rule(hyper)


def first_divergence(losses: Array) -> Array:
    """The step where a run left the stable region for good, or -1 when it did not.

    A loss is out of bounds when it is non-finite or above ``DIVERGENCE_FACTOR`` times the
    first. A run diverged when its last loss is out of bounds; the step returned is the
    first of that final out-of-bounds stretch. A transient overshoot that comes back (an
    adaptive rule near the optimum, say) is not divergence.
    """
    bound = DIVERGENCE_FACTOR * jnp.maximum(losses[0], 1e-30)
    out = ~jnp.isfinite(losses) | (losses > bound)
    steps = jnp.arange(losses.shape[0])
    last_inside = jnp.max(jnp.where(out, -1, steps))
    return jnp.where(out[-1], last_inside + 1, -1)


def _record(theta0: Array, loss0: Array, thetas: Array, losses: Array) -> Trajectory:
    all_thetas = jnp.concatenate([theta0[None], thetas])
    all_losses = jnp.concatenate([loss0[None], losses])
    return Trajectory(all_thetas, all_losses, first_divergence(all_losses))


def _full_batch(
    name: str, hyper: Hyper, theta_init: Array, x: Array, y: Array, steps: int
) -> Trajectory:
    optimizer = make_optimizer(name, hyper)
    grad = jax.grad(mse_loss)

    def step(carry: tuple[Array, optax.OptState], _: None) -> tuple[tuple, tuple[Array, Array]]:
        theta, state = carry
        updates, state = optimizer.update(grad(theta, x, y), state, theta)
        theta = optax.apply_updates(theta, updates)
        return (theta, state), (theta, mse_loss(theta, x, y))

    _, (thetas, losses) = lax.scan(step, (theta_init, optimizer.init(theta_init)), length=steps)
    return _record(theta_init, mse_loss(theta_init, x, y), thetas, losses)


def _mini_batch(
    name: str, hyper: Hyper, theta_init: Array, x: Array, y: Array, indices: Array, mask: Array
) -> Trajectory:
    optimizer = make_optimizer(name, hyper)
    grad = jax.grad(masked_mse_loss)
    # The full-data loss after every mini-batch step from the sufficient statistics: O(1)
    # per step, where mse_loss would cost O(n) per step, O(n^2 / batch) per epoch.
    stats = statistics(x, y).astype(x.dtype)

    def step(
        carry: tuple[Array, optax.OptState], batch: tuple[Array, Array]
    ) -> tuple[tuple, tuple[Array, Array]]:
        theta, state = carry
        index, valid = batch
        gradient = grad(theta, x[index], y[index], valid)
        updates, state = optimizer.update(gradient, state, theta)
        theta = optax.apply_updates(theta, updates)
        return (theta, state), (theta, stats_loss(theta, stats).astype(x.dtype))

    carry = (theta_init, optimizer.init(theta_init))
    _, (thetas, losses) = lax.scan(step, carry, (indices, mask))
    return _record(theta_init, mse_loss(theta_init, x, y), thetas, losses)


full_batch_run = jax.jit(_full_batch, static_argnames=("name", "steps"))
full_batch_run.__doc__ = """Full-batch run of ``steps`` updates on all of (x, y)."""

mini_batch_run = jax.jit(_mini_batch, static_argnames=("name",))
mini_batch_run.__doc__ = """Mini-batch run; step t uses ``x[indices[t]]`` where ``mask[t]``."""


@partial(jax.jit, static_argnames=("name",))
def mini_batch_finals(
    name: str, hyper: Hyper, theta_init: Array, x: Array, y: Array, indices: Array, mask: Array
) -> tuple[Array, Array]:
    """One mini-batch run per schedule (``indices[r]``, ``mask[r]``), vmapped: the final
    thetas and full-data losses of every repeat."""

    def final(index: Array, valid: Array) -> tuple[Array, Array]:
        record = _mini_batch(name, hyper, theta_init, x, y, index, valid)
        return record.thetas[-1], record.losses[-1]

    return jax.vmap(final)(indices, mask)


def _sweep_one(lr: Array, theta_init: Array, stats: Array, steps: int) -> tuple[Array, Array]:
    """Final loss and divergence step of one GD run, as ``first_divergence`` of its record.

    The record is never stored: the scan carries the latest loss and where the current
    out-of-bounds stretch began, which keeps a vmapped sweep one small fused loop body per
    step (5x faster on CPU).
    """
    grad = jax.grad(stats_loss)
    loss_init = stats_loss(theta_init, stats)
    limit = DIVERGENCE_FACTOR * jnp.maximum(loss_init, 1e-30)

    def step(carry: tuple[Array, Array, Array], index: Array) -> tuple[tuple, None]:
        theta, _, first = carry
        theta = theta - lr * grad(theta, stats)
        loss = stats_loss(theta, stats)
        bad = ~jnp.isfinite(loss) | (loss > limit)
        # Where the current out-of-bounds stretch began (-1 inside bounds): at the end, the
        # start of the final stretch, as first_divergence defines the divergence step.
        return (theta, loss, jnp.where(bad, jnp.where(first < 0, index, first), -1)), None

    first_init = jnp.where(jnp.isfinite(loss_init), -1, 0)
    carry = (theta_init, loss_init, first_init)
    (_, loss, first), _ = lax.scan(step, carry, jnp.arange(1, steps + 1))
    return loss, first


@partial(jax.jit, static_argnames=("steps",))
def sweep_single(lr: Array, theta_init: Array, x: Array, y: Array, steps: int):
    """One full-batch GD run reduced to (final loss, divergence step): the sweep's unit."""
    return _sweep_one(lr, theta_init, statistics(x, y).astype(x.dtype), steps)


@partial(jax.jit, static_argnames=("steps",))
def sweep(rates: Array, theta_init: Array, x: Array, y: Array, steps: int):
    """Full-batch GD at every learning rate in one vmapped call.

    The MSE depends on the data only through its centred sufficient statistics, so each
    step is O(1) whatever n is; ``jax.grad`` of ``stats_loss`` is the sample MSE's gradient.
    Returns (final losses, divergence steps).
    """
    stats = statistics(x, y).astype(x.dtype)
    return jax.vmap(lambda lr: _sweep_one(lr, theta_init, stats, steps))(rates)
