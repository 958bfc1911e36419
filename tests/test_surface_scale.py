"""The loss grid at scale: chunking changes nothing, memory stays bounded, methods agree."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from reportgen.numerics import surface


def _data(n: int, seed: int = 0) -> tuple[jnp.ndarray, jnp.ndarray]:
    rng = np.random.RandomState(seed)
    x = 2.0 * rng.rand(n)
    return jnp.asarray(x), jnp.asarray(4.0 + 3.0 * x + rng.randn(n))


def _axes(rows: int, cols: int) -> tuple[jnp.ndarray, jnp.ndarray]:
    return jnp.linspace(-10.0, 10.0, cols), jnp.linspace(-9.0, 11.0, rows)


@pytest.mark.parametrize("batch", [1, 7, 64])
def test_chunked_exact_grid_equals_unchunked(batch: int) -> None:
    """23 rows in chunks of 7 leave a remainder chunk of 2; it must land in the right rows."""
    x, y = _data(301)
    theta0, theta1 = _axes(23, 17)
    whole = surface.exact_grid(theta0, theta1, x, y, batch=23)
    chunked = surface.exact_grid(theta0, theta1, x, y, batch=batch)
    np.testing.assert_allclose(chunked, whole, rtol=1e-14, atol=0)


def test_chunked_direct_grid_equals_unchunked() -> None:
    x, y = _data(301)
    theta0, theta1 = _axes(23, 17)
    whole = surface.direct_grid(theta0, theta1, x, y, batch=23 * 17)
    chunked = surface.direct_grid(theta0, theta1, x, y, batch=10)  # 391 = 39 x 10 + 1
    np.testing.assert_allclose(chunked, whole, rtol=1e-14, atol=0)


def test_exact_grid_is_the_mse_at_every_point() -> None:
    """The row identity against the notebook's definition, point by point in numpy."""
    x, y = _data(257, seed=3)
    theta0, theta1 = _axes(11, 13)
    grid = np.asarray(surface.exact(theta0, theta1, x, y))
    xs, ys = np.asarray(x), np.asarray(y)
    expected = np.array([
        [np.mean((ys - t0 - t1 * xs) ** 2) for t0 in np.asarray(theta0)]
        for t1 in np.asarray(theta1)
    ])
    np.testing.assert_allclose(grid, expected, rtol=1e-13, atol=1e-12)


def test_methods_agree_on_large_n() -> None:
    x, y = _data(200_000, seed=1)
    theta0, theta1 = _axes(9, 8)
    exact = np.asarray(surface.exact(theta0, theta1, x, y))
    direct = np.asarray(surface.direct(theta0, theta1, x, y))
    stats = surface.loss_surface(np.asarray(theta0), np.asarray(theta1), x, y, "stats").loss
    assert np.max(np.abs(exact - direct)) <= 1e-9
    assert np.max(np.abs(stats - direct)) <= 1e-9


def test_float32_grid_stays_accurate() -> None:
    """Centring keeps float32 within ~1e-5 relative of the float64 grid at n = 10^5."""
    x, y = _data(100_000, seed=2)
    theta0, theta1 = _axes(16, 16)
    reference = np.asarray(surface.exact(theta0, theta1, x, y))
    single = np.asarray(surface.exact(theta0, theta1, x.astype(jnp.float32), y.astype(jnp.float32)))
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, reference, rtol=1e-5)


@pytest.mark.parametrize(("n", "rows"), [(100, 1000), (100_000, 3000), (10**6, 1000)])
def test_chunks_stay_bounded(n: int, rows: int) -> None:
    """A chunk's (rows x samples) block never exceeds its budget, whatever the grid."""
    for platform in ("cpu", "gpu"):
        batch = surface.row_chunk(n, rows, platform)
        budget = surface.ROW_CHUNK_ELEMENTS.get(platform, surface.ROW_CHUNK_ELEMENTS_ACCELERATOR)
        assert 1 <= batch <= rows
        assert batch * n <= max(budget, n)
    assert surface.chunk_size(n, rows * rows) * n <= max(surface.CHUNK_ELEMENTS, n)


def test_auto_prefers_stats_only_for_big_work() -> None:
    assert surface.choose_method("auto", 100, 100) == "exact"
    assert surface.choose_method("auto", 10_000, 1000) == "exact"
    assert surface.choose_method("auto", 10**6, 1000) == "stats"
    assert surface.choose_method("exact", 10**6, 1000) == "exact"


def test_stats_grid_is_stats_loss_at_every_point() -> None:
    import jax

    from reportgen.numerics import model

    x, y = _data(500, seed=4)
    theta0, theta1 = _axes(12, 10)
    stats = model.statistics(x, y)
    grid = np.asarray(surface.stats_grid(theta0, theta1, stats))
    points = jnp.stack(jnp.meshgrid(theta0, theta1), axis=-1)
    pointwise = jax.vmap(jax.vmap(model.stats_loss, (0, None)), (0, None))(points, stats)
    np.testing.assert_allclose(grid, np.asarray(pointwise), rtol=1e-13, atol=1e-12)
