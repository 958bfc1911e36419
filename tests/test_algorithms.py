"""The code beside each update rule runs and reproduces the computed runs."""

from __future__ import annotations

import numpy as np
import pytest
from results_fixture import config_for, make_results

from reportgen.numerics.data import draw
from reportgen.render.algorithms import ALGORITHMS, rule_of
from reportgen.store.results import Results

RUNS = [{"name": f"{name} run", "optimizer": name, "learning_rate": rate, "epochs": 25,
         "init": [-2.0, 8.0]}
        for name, rate in (("gd", 0.1), ("momentum", 0.05), ("nesterov", 0.05), ("adam", 0.3),
                           ("rmsprop", 0.05))]


def _function(rule: str):  # type: ignore[no-untyped-def]
    namespace: dict = {"np": np}
    exec(ALGORITHMS[rule], namespace)  # the handout's code, as printed
    return next(v for k, v in namespace.items() if callable(v) and k != "np")


@pytest.fixture(scope="module")
def results() -> Results:
    return make_results(RUNS)


@pytest.mark.parametrize("index", range(len(RUNS)))
def test_full_batch_algorithms_reproduce_the_runs(results: Results, index: int) -> None:
    run, settings = results.runs[index], results.config.runs[index]
    x, y = results.data.x, results.data.y
    assert x is not None and y is not None and run.final_theta is not None
    design = np.c_[np.ones_like(x), x]
    method = _function(rule_of(run.optimizer, minibatch=False))
    extra = {"gd": (), "momentum": (settings.momentum,), "nesterov": (settings.momentum,),
             "adam": (settings.b1, settings.b2, settings.eps),
             "rmsprop": (settings.decay, settings.eps)}[run.optimizer]
    theta = method(design, y, run.theta_init, run.learning_rate, *extra, run.steps)
    np.testing.assert_allclose(theta, run.final_theta, rtol=1e-9, atol=1e-12)


class _Replay:
    """Hands out the run's own batch orders, as the notebook's RandomState did."""

    def __init__(self, permutations: np.ndarray) -> None:
        self.orders = iter(permutations)

    def permutation(self, n: int) -> np.ndarray:
        order = next(self.orders)
        assert len(order) == n
        return order


def test_minibatch_algorithm_reproduces_the_notebook_run() -> None:
    results = make_results()  # the notebook's two runs
    run = results.runs[1]
    x, y = results.data.x, results.data.y
    assert x is not None and y is not None and run.final_theta is not None
    design = np.c_[np.ones_like(x), x]
    permutations = draw(config_for()).runs[1].permutations
    method = _function(rule_of("gd", minibatch=True))
    theta = method(design, y, run.theta_init, 0.1, run.epochs, run.batch_size,
                   _Replay(permutations))
    np.testing.assert_allclose(theta, run.final_theta, rtol=1e-12)


def test_every_algorithm_is_about_ten_lines() -> None:
    for rule, code in ALGORITHMS.items():
        assert 6 <= len(code.splitlines()) <= 13, rule
        assert max(len(line) for line in code.splitlines()) <= 64, rule  # fits beside
