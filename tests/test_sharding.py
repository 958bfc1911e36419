"""Sharded surfaces equal single-device ones (4 host devices forced in a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np

SCRIPT = textwrap.dedent(
    """
    import json
    import jax, jax.numpy as jnp, numpy as np
    from reportgen.numerics import model, runtime, sharding, surface
    runtime.configure_jax("cpu")

    devices = jax.devices("cpu")
    rng = np.random.RandomState(0)
    n = 1001  # not a multiple of 4: padded samples must weigh nothing
    x = jnp.asarray(2.0 * rng.rand(n))
    y = jnp.asarray(4.0 + 3.0 * np.asarray(x) + rng.randn(n))
    theta0, theta1 = np.linspace(-10, 10, 21), np.linspace(-10, 10, 23)  # 23 rows: padded
    sharded = surface.loss_surface(theta0, theta1, x, y, "exact").loss
    single = np.asarray(surface.exact_grid(jnp.asarray(theta0), jnp.asarray(theta1), x, y,
                                           batch=23))
    stats_sharded = np.asarray(sharding.statistics_sharded(x, y, devices))
    stats_single = np.asarray(model.statistics(x, y))
    grid_stats = surface.loss_surface(theta0, theta1, x, y, "stats").loss
    grid_stats_single = np.asarray(surface.stats_grid(jnp.asarray(theta0),
                                                      jnp.asarray(theta1), model.statistics(x, y)))
    print(json.dumps({
        "devices": len(devices),
        "grid": float(np.max(np.abs(sharded - single))),
        "shape": list(sharded.shape),
        "stats": float(np.max(np.abs(stats_sharded - stats_single))),
        "stats_grid": float(np.max(np.abs(grid_stats - grid_stats_single))),
    }))
    """
)


def test_sharded_results_equal_single_device_results() -> None:
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_PLATFORMS="cpu")
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["devices"] == 4
    assert report["shape"] == [23, 21]
    assert report["grid"] <= 1e-12
    assert report["stats"] <= 1e-12
    assert report["stats_grid"] <= 1e-12


def test_one_device_takes_the_single_device_path() -> None:
    import jax.numpy as jnp

    from reportgen.numerics import sharding

    x = jnp.zeros(3)
    assert len(sharding.devices_like(x)) >= 1
    np.testing.assert_array_equal(sharding.pad_to(jnp.arange(5.0), 4), [0, 1, 2, 3, 4, 4, 4, 4])
