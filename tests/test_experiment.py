"""The default handout reproduces the source notebook's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from reportgen import config
from reportgen.numerics import experiment

NOTEBOOK_BATCH = [3.9106679350316482, 3.204127528398984]
NOTEBOOK_MINIBATCH = [4.043715060955726, 3.0013185032669663]


@pytest.fixture(scope="module")
def default_results() -> dict:
    results, arrays = experiment.compute(config.load())
    assert arrays == {}
    return results


def test_batch_gd_reproduces_the_notebook(default_results: dict) -> None:
    np.testing.assert_allclose(default_results["runs"][0]["final_theta"], NOTEBOOK_BATCH,
                               rtol=0, atol=1e-9)


def test_minibatch_gd_reproduces_the_notebook(default_results: dict) -> None:
    np.testing.assert_allclose(default_results["runs"][1]["final_theta"], NOTEBOOK_MINIBATCH,
                               rtol=0, atol=1e-9)


def test_trajectories_start_at_the_initial_theta(default_results: dict) -> None:
    batch, minibatch = default_results["runs"]
    assert batch["steps"] == 10 and len(batch["thetas"]) == 11 and len(batch["losses"]) == 11
    assert minibatch["steps"] == 10 and minibatch["steps_per_epoch"] == 5
    assert batch["thetas"][0] == batch["theta_init"]


def test_surface_grid_matches_the_notebook_loop(default_results: dict) -> None:
    data = default_results["data"]
    x, y = np.asarray(data["x"]), np.asarray(data["y"])
    surface = default_results["surface"]
    t0 = np.linspace(-10, 10, 100)
    t1 = np.linspace(-10, 10, 100)
    mesh0, mesh1 = np.meshgrid(t0, t1)
    design = np.c_[np.ones(100), x]
    for i, j in [(0, 0), (3, 97), (50, 50), (99, 12)]:
        theta = np.array([mesh0[i, j], mesh1[i, j]])
        expected = np.mean((y - design @ theta) ** 2)
        assert surface["loss"][i][j] == pytest.approx(expected, rel=1e-12)


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
        assert results == alone
        assert arrays.keys() == alone_arrays.keys()
def test_normal_equations_match_the_hessian(default_results: dict) -> None:
    ols, n = default_results["ols"], default_results["data"]["n"]
    xtx, xty = np.asarray(ols["xtx"]), np.asarray(ols["xty"])
    np.testing.assert_allclose(2.0 / n * xtx, default_results["diagnostics"]["hessian"],
                               rtol=1e-12)
    np.testing.assert_allclose(np.linalg.solve(xtx, xty), ols["theta"], rtol=1e-10)


def test_only_minibatch_runs_get_shuffles_and_a_twin(default_results: dict) -> None:
    batch, minibatch = default_results["runs"]
    assert batch["shuffles"] is None and batch["full_batch_twin"] is None
    shuffles = minibatch["shuffles"]
    assert shuffles["repeats"] == experiment.SHUFFLE_REPEATS
    losses = np.asarray(shuffles["final_losses"])
    assert len(losses) == len(shuffles["final_thetas"]) == experiment.SHUFFLE_REPEATS
    assert np.all(losses > default_results["ols"]["loss"])
    assert len(set(losses.tolist())) == len(losses)  # every repeat shuffles differently
    np.testing.assert_allclose(
        shuffles["final_distances"],
        np.linalg.norm(np.asarray(shuffles["final_thetas"]) - default_results["ols"]["theta"],
                       axis=1))


def test_the_twin_is_full_batch_gd_from_the_same_start(default_results: dict) -> None:
    minibatch = default_results["runs"][1]
    twin = minibatch["full_batch_twin"]
    data = default_results["data"]
    design = np.c_[np.ones(data["n"]), np.asarray(data["x"])]
    theta = np.asarray(minibatch["theta_init"])
    for _ in range(twin["steps"]):
        theta = theta - 0.1 * (-2 / data["n"] * design.T @ (data["y"] - design @ theta))
    np.testing.assert_allclose(twin["final_theta"], theta, rtol=1e-12)
    assert twin["thetas"][0] == minibatch["theta_init"] and twin["steps"] == minibatch["steps"]
    assert twin["loss_after_epochs"] == twin["losses"][minibatch["epochs"]]


def test_shuffle_repeats_leave_the_notebook_stream_alone() -> None:
    """The repeats draw from their own generator: the handout's runs are unchanged."""
    first = experiment.shuffle_permutations(config.load(), 1, 0, 2)
    assert first.shape == (2, 100) and sorted(first[0].tolist()) == list(range(100))
    np.testing.assert_array_equal(first, experiment.shuffle_permutations(config.load(), 1, 0, 2))
    assert not np.array_equal(first, experiment.shuffle_permutations(config.load(), 1, 1, 2))
