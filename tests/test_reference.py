"""experiment.compute agrees with an independent numpy re-derivation (tests/numpy_reference).

float64 results match to 1e-9 for the default handout, other seeds, odd batch sizes (the
short last batch), SGD, fixed initial points, every optimizer and a divergent run; float32
agrees with float64 to ~1e-4 relative.
"""

from __future__ import annotations

import copy
import functools
import json
import math
from typing import Any

import numpy as np
import numpy_reference as ref
import pytest

from reportgen import config
from reportgen.numerics import data, experiment
from reportgen.store import results

TOL = 1e-9

RUN = {"name": "run", "optimizer": "gd", "learning_rate": 0.1, "epochs": 10}

CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},  # reports/source-notebook.toml
    "seed-7": {"seed": 7},
    "seed-123456-more-epochs": {
        "seed": 123456,
        "runs": [
            {**RUN, "epochs": 40},
            {**RUN, "name": "mini", "epochs": 4, "batch_size": 20},
        ],
    },
    "odd-batches-7-and-33": {
        "seed": 1,
        "runs": [
            {**RUN, "name": "batch 7", "epochs": 3, "batch_size": 7},
            {**RUN, "name": "batch 33", "epochs": 3, "batch_size": 33},
            {**RUN, "name": "batch 99", "epochs": 2, "batch_size": 99},
        ],
    },
    "sgd-batch-1": {
        "seed": 2,
        "runs": [{**RUN, "name": "SGD", "learning_rate": 0.01, "epochs": 2, "batch_size": 1}],
    },
    "fixed-init": {
        "seed": 3,
        "runs": [
            {**RUN, "init": [0.0, 0.0]},
            {**RUN, "name": "mini", "init": [-5.0, 8.0], "epochs": 2, "batch_size": 33},
            {**RUN, "name": "random after fixed", "epochs": 3},
        ],
    },
    "other-data-and-grid": {
        "seed": 11,
        "data": {"n": 57, "theta": [-2.0, 0.5], "x_range": [-1.0, 3.0], "noise": 0.3},
        "surface": {"theta0": [-6.0, 2.0], "theta1": [-1.5, 4.0], "resolution": 37},
        "runs": [
            {**RUN, "learning_rate": 0.2, "epochs": 25},
            {**RUN, "name": "mini", "epochs": 3, "batch_size": 10},
        ],
    },
    "optimizers": {
        "seed": 5,
        "runs": [
            {**RUN, "name": "momentum", "optimizer": "momentum", "learning_rate": 0.05,
             "epochs": 30},
            {**RUN, "name": "nesterov", "optimizer": "nesterov", "learning_rate": 0.05,
             "momentum": 0.7, "epochs": 30},
            {**RUN, "name": "adam", "optimizer": "adam", "learning_rate": 0.3, "epochs": 30,
             "b1": 0.8, "b2": 0.99, "eps": 1e-6},
            {**RUN, "name": "rmsprop", "optimizer": "rmsprop", "learning_rate": 0.05,
             "epochs": 30, "decay": 0.95, "eps": 1e-4},
            {**RUN, "name": "adam mini", "optimizer": "adam", "learning_rate": 0.1,
             "epochs": 3, "batch_size": 33},
            {**RUN, "name": "nesterov mini", "optimizer": "nesterov", "learning_rate": 0.02,
             "epochs": 3, "batch_size": 7},
        ],
    },
    "divergent-lr-1": {
        "runs": [{**RUN, "name": "lr 1.0", "learning_rate": 1.0, "epochs": 1000}],
    },
    "jax-rng": {
        "seed": 4,
        "data": {"rng": "jax"},
        "runs": [RUN, {**RUN, "name": "mini", "epochs": 2, "batch_size": 30}],
    },
}


def make_config(name: str, precision: str = "float64") -> config.Config:
    base = config.read_toml(config.resolve_path(None))
    raw = copy.deepcopy(CONFIGS[name])
    for key in ("data", "surface"):
        if key in raw:
            raw[key] = {**base[key], **raw[key]}
    return config.validate({**base, **raw, "precision": precision})


@functools.cache
def computed(name: str, precision: str = "float64") -> results.Results:
    result, arrays = experiment.compute(make_config(name, precision))
    assert arrays == {}
    return result


@functools.cache
def expected(name: str) -> dict[str, Any]:
    cfg = make_config(name)
    normalised = cfg.normalised()
    if cfg.data.rng == "jax":
        # numpy cannot reproduce jax.random's bits: borrow the draws, re-derive the rest.
        draws = data.draw(cfg)
        return ref.reference(normalised, ref.Draws(
            draws.data.x, draws.data.y, [r.theta_init for r in draws.runs],
            [r.permutations for r in draws.runs],
        ))
    return ref.reference(normalised)


def assert_close(actual: Any, desired: np.ndarray, rtol: float = TOL, atol: float = TOL) -> None:
    assert actual is not None
    actual = np.asarray(actual, np.float64)  # NaN where results.json has null
    desired = np.asarray(desired, dtype=np.float64)
    assert actual.shape == desired.shape
    # Non-finite in the reference is null in results.json, and nowhere else.
    np.testing.assert_array_equal(np.isfinite(actual), np.isfinite(desired))
    finite = np.isfinite(desired)
    np.testing.assert_allclose(actual[finite], desired[finite], rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_data_and_closed_form_match_numpy(name: str) -> None:
    got, want = computed(name), expected(name)
    assert got.data.x is not None and got.data.y is not None
    np.testing.assert_array_equal(got.data.x, want["x"])
    np.testing.assert_array_equal(got.data.y, want["y"])
    assert_close(got.ols.theta, want["ols_theta"])
    assert got.ols.loss == pytest.approx(want["ols_loss"], rel=TOL)
    diagnostics = got.diagnostics
    assert_close(diagnostics.hessian, want["hessian"], atol=0)
    assert_close(diagnostics.hessian_eigenvalues, want["eigenvalues"], atol=0)
    for key in ("condition_number", "max_stable_lr", "optimal_lr"):
        value = getattr(diagnostics, key)
        assert value is not None and value == pytest.approx(want[key], rel=TOL)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_runs_match_numpy(name: str) -> None:
    got, want = computed(name), expected(name)
    assert len(got.runs) == len(want["runs"])
    for run, reference in zip(got.runs, want["runs"], strict=True):
        steps = len(reference.losses) - 1
        assert run.steps == steps and len(run.thetas) == steps + 1
        assert_close(run.thetas, reference.thetas)
        assert_close(run.losses, reference.losses, atol=0)
        np.testing.assert_array_equal(run.theta_init, run.thetas[0])
        assert run.diverged == (reference.diverged_step >= 0)
        expected_step = reference.diverged_step if reference.diverged_step >= 0 else None
        assert run.diverged_step == expected_step


@pytest.mark.parametrize("name", list(CONFIGS))
def test_surface_matches_numpy(name: str) -> None:
    got, want = computed(name).surface, expected(name)
    np.testing.assert_array_equal(got.theta0, want["theta0"])
    np.testing.assert_array_equal(got.theta1, want["theta1"])
    assert_close(got.loss, want["surface"], atol=0)
    assert got.min_loss == pytest.approx(want["min_loss"], rel=TOL)
    assert got.argmin is not None
    np.testing.assert_array_equal(got.argmin, want["argmin"])


def test_default_handout_reproduces_the_notebook_through_numpy() -> None:
    """The reference itself reproduces the notebook's printed thetas (it checks itself)."""
    batch, mini = expected("default")["runs"]
    np.testing.assert_allclose(batch.thetas[-1], [3.9106679350316482, 3.204127528398984],
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(mini.thetas[-1], [4.043715060955726, 3.0013185032669663],
                               rtol=0, atol=1e-12)


def test_short_last_batch_is_one_step_per_slice() -> None:
    runs = computed("odd-batches-7-and-33").runs
    # n = 100: ceil(100 / 7) = 15, ceil(100 / 33) = 4 (the last of 1 sample), 2 of 99.
    assert [r.steps_per_epoch for r in runs] == [15, 4, 2]
    assert [r.steps for r in runs] == [45, 12, 4]


@pytest.mark.parametrize("name", ["default", "odd-batches-7-and-33", "optimizers",
                                  "other-data-and-grid"])
def test_float32_agrees_with_float64(name: str) -> None:
    single, double = computed(name, "float32"), computed(name)  # float64: computed above
    for low, high in zip(single.runs, double.runs, strict=True):
        np.testing.assert_allclose(low.thetas, high.thetas, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(low.losses, high.losses, rtol=1e-4)
    for a, b in ((single.ols.theta, double.ols.theta),
                 (single.diagnostics.hessian_eigenvalues, double.diagnostics.hessian_eigenvalues),
                 (single.surface.loss, double.surface.loss)):
        assert a is not None and b is not None
        np.testing.assert_allclose(a, b, rtol=1e-4)


def test_divergent_run_is_flagged_with_its_step() -> None:
    got = computed("divergent-lr-1")
    (run,) = got.runs
    assert got.diagnostics.max_stable_lr is not None and got.diagnostics.max_stable_lr < 1.0
    assert run.diverged is True
    losses = run.losses
    step = run.diverged_step
    # From this step on every loss is out of bounds (above 10x the start or non-finite).
    assert step is not None and step >= 1
    assert losses[step - 1] <= 10 * losses[0]
    assert np.all(~np.isfinite(losses[step:]) | (losses[step:] > 10 * losses[0]))
    # 1000 steps at rate ~3.4 overflow: the non-finite tail is null, not NaN or Infinity.
    assert run.final_loss is None and run.final_theta is None
    assert np.isnan(run.losses[-1]) and np.isnan(run.thetas[-1]).any()
    plain = got.to_dict()["runs"][0]
    assert plain["losses"][-1] is None and None in plain["thetas"][-1]
    assert run.observed_rate is None


def test_results_json_has_no_nan_or_infinity() -> None:
    got = computed("divergent-lr-1")
    text = results.dumps(got)

    def refuse(constant: str) -> float:
        raise AssertionError(f"results.json holds {constant}")

    parsed = json.loads(text, parse_constant=refuse)
    assert parsed == got.to_dict()  # plain data round-trips exactly
    assert json.dumps(parsed, allow_nan=False, sort_keys=True, indent=1) + "\n" == text

    def finite_everywhere(value: Any) -> bool:
        if isinstance(value, dict):
            return all(finite_everywhere(v) for v in value.values())
        if isinstance(value, list):
            return all(finite_everywhere(v) for v in value)
        return not isinstance(value, float) or math.isfinite(value)

    assert finite_everywhere(parsed)


def test_runs_differing_only_in_numbers_share_one_compiled_program() -> None:
    """Hyperparameters travel as traced arrays: a new rate or seed must not recompile."""
    from reportgen.numerics import optimize

    jitted = (optimize.full_batch_run, optimize.mini_batch_run)
    if not all(hasattr(f, "_cache_size") for f in jitted):
        pytest.skip("this JAX does not expose a jit cache size")
    experiment.compute(make_config("default"))
    before = [f._cache_size() for f in jitted]
    experiment.compute(config.load(overrides=[
        "seed=5", "runs.0.learning_rate=0.3", "runs.1.learning_rate=0.05",
        "runs.0.momentum=0.5", "data.noise=0.5", "data.theta=[1.0, -2.0]",
    ]))
    assert [f._cache_size() for f in jitted] == before

def test_a_transient_overshoot_that_converges_is_not_divergence() -> None:
    """adam from next to the optimum of noiseless data jumps to ~370x its start once."""
    cfg = config.validate({
        "data": {"noise": 0.0},
        "runs": [{"optimizer": "adam", "learning_rate": 1.0, "epochs": 300,
                  "init": [4.1, 3.0]}],
    })
    (run,) = experiment.compute(cfg)[0].runs
    assert run.final_loss is not None and run.final_loss < 1e-10  # it converged...
    assert run.diverged is False  # ...so it did not diverge
    assert np.all(np.isfinite(run.losses))
    assert max(run.losses) > 10 * run.losses[0]  # though it overshot
