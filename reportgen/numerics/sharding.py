"""The loss surface on several devices: grid rows, or samples, spread over a 1-D mesh.

When JAX sees more than one device of the data's platform (a multi-GPU node, a
``jax.distributed`` cluster, or ``XLA_FLAGS=--xla_force_host_platform_device_count=4``),
``surface`` calls these instead of its single-device paths. The code per device is the
single-device code: ``shard_map`` hands each device a block of theta1 rows (the exact grid)
or of samples (the sufficient statistics, combined with ``psum``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache, partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array, lax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

#: The name of the mesh axis that rows (or samples) are split along.
AXIS = "shards"

RowLosses = Callable[..., Array]  # (theta0, theta1_rows, x, y, *, batch) -> rows


def devices_like(x: Array) -> list[jax.Device]:
    """All devices of the platform ``x`` lives on (the selected device's kind)."""
    platform = next(iter(x.devices())).platform
    return jax.devices(platform)


def mesh_of(devices: Sequence[jax.Device]) -> Mesh:
    """A 1-D mesh over ``devices`` along ``AXIS``."""
    return Mesh(np.asarray(devices), (AXIS,))


def pad_to(array: Array, multiple: int) -> Array:
    """``array`` padded at the end to a length divisible by ``multiple`` (edge values)."""
    extra = (-array.shape[0]) % multiple
    return jnp.pad(array, (0, extra), mode="edge") if extra else array


def exact_grid_sharded(
    row_losses: RowLosses,
    theta0: Array,
    theta1: Array,
    x: Array,
    y: Array,
    devices: Sequence[jax.Device],
    batch: int,
) -> Array:
    """``row_losses`` with the theta1 rows split evenly across ``devices``.

    Rows are padded to a multiple of the device count and the padding dropped after, so
    every device runs the same program; the data and theta0 are replicated.
    """
    mesh = mesh_of(devices)
    rows = theta1.shape[0]
    padded = pad_to(theta1, len(devices))
    per_device = padded.shape[0] // len(devices)
    replicated = NamedSharding(mesh, P())
    run = _sharded_rows(row_losses, mesh, min(batch, per_device))
    grid = run(
        jax.device_put(theta0, replicated),
        jax.device_put(padded, NamedSharding(mesh, P(AXIS))),
        jax.device_put(x, replicated),
        jax.device_put(y, replicated),
    )
    return grid[:rows]


@cache  # one compiled program per (function, mesh, chunk), not one per call
def _sharded_rows(row_losses: RowLosses, mesh: Mesh, batch: int) -> Callable[..., Array]:
    body = partial(row_losses, batch=batch)
    mapped = jax.shard_map(
        body, mesh=mesh, in_specs=(P(), P(AXIS), P(), P()), out_specs=P(AXIS)
    )
    return jax.jit(mapped)


def statistics_sharded(x: Array, y: Array, devices: Sequence[jax.Device]) -> Array:
    """``model.statistics`` with the samples split across ``devices`` and ``psum``-combined.

    Two passes, as on one device: the means first, then the centred second moments, each
    a per-device sum added up over the mesh. Padding samples carry weight zero.
    """
    mesh = mesh_of(devices)
    x64, y64 = x.astype(jnp.float64), y.astype(jnp.float64)
    weight = jnp.ones_like(x64)
    count = len(devices)
    split = NamedSharding(mesh, P(AXIS))
    parts = [
        jax.device_put(_pad_zero(a, count), split) for a in (x64, y64, weight)
    ]
    return _sharded_statistics(mesh)(*parts)


def _pad_zero(array: Array, multiple: int) -> Array:
    extra = (-array.shape[0]) % multiple
    return jnp.pad(array, (0, extra)) if extra else array


@cache
def _sharded_statistics(mesh: Mesh) -> Callable[..., Array]:
    def local(x: Array, y: Array, weight: Array) -> Array:
        def total(values: Array) -> Array:
            return lax.psum(jnp.sum(values), AXIS)

        n = total(weight)
        x_mean, y_mean = total(weight * x) / n, total(weight * y) / n
        xc, yc = weight * (x - x_mean), weight * (y - y_mean)
        moments = [total(xc * xc) / n, total(xc * yc) / n, total(yc * yc) / n]
        return jnp.stack([x_mean, y_mean, *moments])

    mapped = jax.shard_map(
        local, mesh=mesh, in_specs=(P(AXIS), P(AXIS), P(AXIS)), out_specs=P()
    )
    return jax.jit(mapped)
