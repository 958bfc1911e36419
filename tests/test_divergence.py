"""Numerical faults: a diverging run still computes, is flagged, and writes no NaN or Infinity.

Each report is computed once through the command line (``reportgen compute``) on the
notebook's data; the tests read its results.json the way a renderer would.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from reportgen import cli

#: The notebook's data with runs that leave the stable region (2/L is about 0.48 here).
OVERFLOWING = """\
seed = 0
[data]
n = 100

[surface]
resolution = 8

[[runs]]
name = "Stable"
learning_rate = 0.1
epochs = 10

[[runs]]
name = "Overflows"
learning_rate = 50.0
epochs = 500

[[runs]]
name = "Mini-batch overflows"
learning_rate = 50.0
epochs = 60
batch_size = 20

[[runs]]
name = "Momentum overflows"
optimizer = "momentum"
learning_rate = 50.0
epochs = 300

[sweep]
rates = [0.1, 0.45, 1.0, 50.0]
epochs = 500
"""


def strict_json(text: str) -> Any:
    """json.loads that refuses NaN, Infinity and -Infinity instead of reading them."""
    def refuse(constant: str) -> Any:
        raise AssertionError(f"results.json holds {constant}")

    return json.loads(text, parse_constant=refuse)


def compute(tmp: Path, config: str, *overrides: str) -> tuple[int, str, dict[str, Any]]:
    out = tmp / "report"
    args = [a for o in overrides for a in ("--set", o)]
    code = cli.main(["compute", config, "--out", str(out), "-q", *args])
    text = (out / "results.json").read_text(encoding="utf-8")
    return code, text, strict_json(text)


@pytest.fixture(scope="module")
def lr_one(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, dict[str, Any]]:
    """The default handout with its batch run at learning rate 1.0 (about 2 x 2/L)."""
    tmp = tmp_path_factory.mktemp("lr-one")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REPORTGEN_CACHE_DIR", str(tmp / "cache"))
        return compute(tmp, "source-notebook", "runs.0.learning_rate=1.0")


@pytest.fixture(scope="module")
def overflow(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("overflow")
    config = tmp / "overflow.toml"
    config.write_text(OVERFLOWING, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REPORTGEN_CACHE_DIR", str(tmp / "cache"))
        return compute(tmp, str(config))


def first_exploded(losses: list[float | None]) -> int:
    """The documented divergence rule: first loss non-finite or above 10x the initial one."""
    initial = losses[0]
    assert initial is not None
    for step, loss in enumerate(losses):
        if loss is None or loss > 10 * initial:
            return step
    raise AssertionError("no step left the stable region")


def test_learning_rate_one_computes_and_flags_the_step(lr_one: tuple) -> None:
    code, _, results = lr_one
    batch, minibatch = results["runs"]
    assert code == 0
    assert batch["learning_rate"] == 1.0 > results["diagnostics"]["max_stable_lr"]
    assert batch["diverged"] is True and batch["stable"] is False
    assert batch["diverged_step"] == first_exploded(batch["losses"]) == 2
    assert batch["predicted_rate"] > 1.0
    # it grows but stays finite over ten steps: every number is still written
    assert all(loss is not None for loss in batch["losses"])
    assert batch["final_loss"] is not None and batch["final_theta"] is not None
    # the other run is untouched by its neighbour's divergence
    assert minibatch["diverged"] is False and minibatch["diverged_step"] is None


def test_overflow_to_inf_writes_nulls_and_exits_zero(overflow: tuple) -> None:
    code, text, results = overflow
    assert code == 0
    assert "NaN" not in text and "Infinity" not in text
    stable, *overflowing = results["runs"]
    assert stable["diverged"] is False
    for run in overflowing:
        assert run["diverged"] is True, run["name"]
        assert run["diverged_step"] == first_exploded(run["losses"])
        assert run["final_loss"] is None and run["final_theta"] is None, run["name"]
        assert run["losses"][-1] is None
        assert len(run["losses"]) == run["steps"] + 1 and len(run["thetas"]) == run["steps"] + 1
        assert run["losses"][0] is not None  # the start is always finite
        assert run["gap_to_ols"] is None and run["observed_rate"] is None


def test_sweep_marks_divergent_rates_with_nulls(overflow: tuple) -> None:
    _, _, results = overflow
    sweep = results["sweep"]
    max_stable = results["diagnostics"]["max_stable_lr"]
    for rate, final, diverged in zip(sweep["learning_rates"], sweep["final_losses"],
                                     sweep["diverged"], strict=True):
        assert diverged == (rate > max_stable), rate
        # over 500 steps every divergent rate overflows to inf (3.1^500 at lr 1.0)
        assert (final is None) == diverged, rate


def test_no_number_anywhere_is_non_finite(lr_one: tuple, overflow: tuple) -> None:
    def walk(value: Any) -> None:
        if isinstance(value, float):
            assert math.isfinite(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(lr_one[2])
    walk(overflow[2])
