"""The default handout reproduces the source notebook's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from reportgen import config
from reportgen.numerics import experiment, surface
from reportgen.store.results import Results

NOTEBOOK_BATCH = [3.9106679350316482, 3.204127528398984]
NOTEBOOK_MINIBATCH = [4.043715060955726, 3.0013185032669663]


@pytest.fixture(scope="module")
def default_results() -> Results:
    results, arrays = experiment.compute(config.load())
    assert arrays == {}
    return results


def test_batch_gd_reproduces_the_notebook(default_results: Results) -> None:
    np.testing.assert_allclose(default_results.runs[0].final_theta, NOTEBOOK_BATCH,
                               rtol=0, atol=1e-9)


def test_minibatch_gd_reproduces_the_notebook(default_results: Results) -> None:
    np.testing.assert_allclose(default_results.runs[1].final_theta, NOTEBOOK_MINIBATCH,
                               rtol=0, atol=1e-9)


def test_trajectories_start_at_the_initial_theta(default_results: Results) -> None:
    batch, minibatch = default_results.runs
    assert batch.steps == 10 and batch.thetas.shape == (11, 2) and batch.losses.shape == (11,)
    assert minibatch.steps == 10 and minibatch.steps_per_epoch == 5
    np.testing.assert_array_equal(batch.thetas[0], batch.theta_init)


def test_surface_grid_matches_the_notebook_loop(default_results: Results) -> None:
    data = default_results.data
    x, y = data.x, data.y
    assert x is not None and y is not None
    loss = default_results.surface.loss
    assert loss is not None
    t0 = np.linspace(-10, 10, 100)
    t1 = np.linspace(-10, 10, 100)
    mesh0, mesh1 = np.meshgrid(t0, t1)
    design = np.c_[np.ones(100), x]
    for i, j in [(0, 0), (3, 97), (50, 50), (99, 12)]:
        theta = np.array([mesh0[i, j], mesh1[i, j]])
        expected = np.mean((y - design @ theta) ** 2)
        assert loss[i, j] == pytest.approx(expected, rel=1e-12)


MIXED = [
    {},
    {"runs.0.learning_rate": 0.3, "data.noise": 0.5},
    {"seed": 7, "data.theta": [1.0, -2.0]},
    {"runs.0.optimizer": "momentum", "runs.0.momentum": 0.8},
    {"runs.0.optimizer": "adam", "runs.0.learning_rate": 0.2},
    {"runs.1.batch_size": 7},
    {"data.n": 57, "surface.theta0": [-3.0, 9.0]},
    {"precision": "float32"},
    {"precision": "float32", "runs.0.learning_rate": 0.45, "seed": 3},
    {"sweep": {"rates": [0.01, 0.1, 0.5, 0.9], "epochs": 30}},
    {"sweep": {"rates": [0.02, 0.2, 0.4, 1.1], "epochs": 30}, "data.noise": 2.0},
    {"data.n": 40, "surface.resolution": 24, "runs.0.learning_rate": 0.02},
    {"data.n": 40, "surface.resolution": 24, "runs.0.learning_rate": 0.5, "data.noise": 0.5},
    {"data.n": 1000, "surface.resolution": 24},
    {"data.n": 1000, "surface.resolution": 24, "seed": 5},
]


def test_a_batch_computes_each_variant_exactly_as_alone() -> None:
    """A batch gives every variant the very bits a single compute gives."""
    configs = [config.load("source-notebook", overrides) for overrides in MIXED]
    together = experiment.compute_many(configs)
    for cfg, (results, arrays) in zip(configs, together, strict=True):
        alone, alone_arrays = experiment.compute(cfg)
        assert results.to_dict() == alone.to_dict()
        assert arrays.keys() == alone_arrays.keys()
def test_normal_equations_match_the_hessian(default_results: Results) -> None:
    ols, n = default_results.ols, default_results.data.n
    xtx, xty = ols.xtx, ols.xty
    assert xtx is not None and xty is not None and ols.theta is not None
    np.testing.assert_allclose(2.0 / n * xtx, default_results.diagnostics.hessian, rtol=1e-12)
    np.testing.assert_allclose(np.linalg.solve(xtx, xty), ols.theta, rtol=1e-10)


def test_only_minibatch_runs_get_shuffles_and_a_twin(default_results: Results) -> None:
    batch, minibatch = default_results.runs
    assert batch.shuffles is None and batch.full_batch_twin is None
    shuffles = minibatch.shuffles
    assert shuffles is not None and shuffles.repeats == experiment.SHUFFLE_REPEATS
    losses = shuffles.final_losses
    assert len(losses) == len(shuffles.final_thetas) == experiment.SHUFFLE_REPEATS
    assert np.all(losses > default_results.ols.loss)
    assert len(set(losses.tolist())) == len(losses)  # every repeat shuffles differently
    assert default_results.ols.theta is not None
    np.testing.assert_allclose(
        shuffles.final_distances,
        np.linalg.norm(shuffles.final_thetas - default_results.ols.theta, axis=1))


def test_the_twin_is_full_batch_gd_from_the_same_start(default_results: Results) -> None:
    minibatch = default_results.runs[1]
    twin = minibatch.full_batch_twin
    data = default_results.data
    assert twin is not None and data.x is not None and data.y is not None
    assert twin.thetas is not None and twin.losses is not None
    design = np.c_[np.ones(data.n), data.x]
    theta = minibatch.theta_init
    for _ in range(twin.steps):
        theta = theta - 0.1 * (-2 / data.n * design.T @ (data.y - design @ theta))
    assert twin.final_theta is not None
    np.testing.assert_allclose(twin.final_theta, theta, rtol=1e-12)
    np.testing.assert_array_equal(twin.thetas[0], minibatch.theta_init)
    assert twin.steps == minibatch.steps
    assert twin.loss_after_epochs == twin.losses[minibatch.epochs]


def test_shuffle_repeats_leave_the_notebook_stream_alone() -> None:
    """The repeats draw from their own generator: the handout's runs are unchanged."""
    first = experiment.shuffle_permutations(config.load(), 1, 0, 2)
    assert first.shape == (2, 100) and sorted(first[0].tolist()) == list(range(100))
    np.testing.assert_array_equal(first, experiment.shuffle_permutations(config.load(), 1, 0, 2))
    assert not np.array_equal(first, experiment.shuffle_permutations(config.load(), 1, 1, 2))
# ---------------------------------------------------------------- degenerate and extreme data


@pytest.mark.parametrize("precision", ["float64", "float32"])
@pytest.mark.parametrize("theta", [(0.0, 0.0), (4.0, 3.0)])
def test_a_perfect_fit_has_no_relative_gap(theta: tuple[float, float], precision: str) -> None:
    """Noise-free data: the OLS loss is rounding error, so final/OLS - 1 is not given."""
    cfg = config.validate({"precision": precision, "device": "cpu",
                           "data": {"n": 20, "theta": list(theta), "noise": 0.0},
                           "surface": {"resolution": 8},
                           "runs": [{"epochs": 5}, {"epochs": 2, "batch_size": 5}]})
    results, _ = experiment.compute(cfg)
    assert results.ols.loss < 1e-9
    for run in results.runs:
        assert run.final_loss is not None and run.gap_to_ols is None


def test_a_perfect_fit_renders_its_handout() -> None:
    """Figures (a loss floor of 0 on log axes) and prose cope with L* = 0."""
    from reportgen.render.report import render_report

    cfg = config.validate({"device": "cpu", "data": {"n": 20, "theta": [0.0, 0.0], "noise": 0.0},
                           "surface": {"resolution": 8},
                           "runs": [{"epochs": 4, "init": [1.0, 1.0]},
                                    {"epochs": 1, "batch_size": 5, "init": [1.0, 1.0]}]})
    results, arrays = experiment.compute(cfg)
    assert results.ols.loss == 0.0
    files = render_report(results, None, {"html"}, arrays=arrays)
    text = files["index.html"].decode("utf-8")
    assert "so there is no relative gap" in text and "n/a above" not in text
    assert len([name for name in files if name.startswith("figures/")]) == 8


def test_the_gap_to_ols_is_relative_only_above_rounding() -> None:
    assert experiment.gap_to_ols(1.5, 1.0, 2.0) == 0.5
    assert experiment.gap_to_ols(1.5, 0.0, 0.0) is None
    assert experiment.gap_to_ols(1.5, 1e-20, 1.0) is None
    assert experiment.gap_to_ols(None, 1.0, 1.0) is None


def test_a_grid_without_a_finite_value_has_no_minimum() -> None:
    grid = surface.Surface(np.array([0.0, 1.0]), np.array([0.0, 1.0]),
                           np.full((2, 2), np.nan), "exact")
    entry, _ = experiment.surface_record(grid)
    assert entry.min_loss is None and entry.argmin is None


@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_the_largest_allowed_values_give_finite_losses(precision: str) -> None:
    """The config's bound on magnitudes keeps y, the losses and the grid finite in float32."""
    edge = config.MAX_MAGNITUDE
    cfg = config.validate({
        "precision": precision, "device": "cpu",
        "data": {"n": 1000, "theta": [edge, -edge], "x_range": [-edge, edge], "noise": edge},
        "surface": {"theta0": [-edge, edge], "theta1": [-edge, edge], "resolution": 16},
        "runs": [{"epochs": 3, "init": [edge, edge]}],
    })
    results, _ = experiment.compute(cfg)
    assert np.isfinite(results.ols.loss) and results.ols.loss > 0
    assert results.surface.loss is not None and np.all(np.isfinite(results.surface.loss))
    assert results.surface.min_loss is not None
    assert np.isfinite(results.runs[0].losses[0])
    assert results.diagnostics.hessian_eigenvalues is not None
    assert np.all(np.isfinite(results.diagnostics.hessian_eigenvalues))
