"""Every claim's condition against the numpy reference, on configs across the schema.

Hypothesis draws configs (the notebook's stream, so numpy re-draws the same data): n and
the noise, x ranges that give steep (x far from 0) and flat (x around 0) valleys, a
full-batch gradient-descent run at a rate on either side of 2/lambda_max, a second rule
(gd, momentum, Nesterov, Adam or RMSProp) from the same start, a mini-batch or SGD run,
and sometimes a sweep. reportgen computes the results (JAX); every claim that applies is
evaluated on them, and its verdict is compared with the same condition re-derived here
from ``numpy_reference`` runs, never from reportgen's compute.

Shapes are static (N points, EPOCHS steps per run, an 8 x 8 grid), so JAX compiles each
program once per optimizer. Profiles: ``ci`` (derandomized, few examples, the whole file
in about a minute on one core) in ``nox -s tests``; ``thorough`` in ``nox -s properties``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy_reference as ref
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reportgen import claims, theory
from reportgen.claims import _compare, _core, _paths, _runs, _valley
from reportgen.config import validate
from reportgen.config.schema import Config
from reportgen.numerics.experiment import SHUFFLE_REPEATS, compute
from reportgen.store.results import Results

pytestmark = pytest.mark.property

N = 24
EPOCHS = 12
BATCH = 6
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
EXAMPLES = {"ci": 8, "thorough": 300}.get(PROFILE, 12)

#: A verdict too close to its threshold for float64 runs computed two ways to agree.
UNDECIDABLE = object()


# ---------------------------------------------------------------- configs


def _eigenvalues(seed: int, x_range: tuple[float, float]) -> np.ndarray:
    """The Hessian's eigenvalues of the data a config will draw (numpy, before compute)."""
    stream = np.random.RandomState(seed)
    x = x_range[0] + (x_range[1] - x_range[0]) * stream.rand(N, 1).ravel()
    return np.linalg.eigvalsh(ref.hessian(x))


@st.composite
def configs(draw: st.DrawFn) -> Config:
    seed = draw(st.integers(0, 2**16))
    low = draw(st.sampled_from([-1.7, -1.0, 0.0, 1.0, 2.0]))  # around 0: flat; far: steep
    width = draw(st.sampled_from([1.0, 2.0, 3.4]))
    x_range = (low, low + width)
    eigenvalues = _eigenvalues(seed, x_range)
    bound = 2.0 / eigenvalues[-1]
    start = draw(st.sampled_from(["fixed", "random"]))
    init: Any = ([draw(st.sampled_from([-2.0, 0.0, 6.0])), draw(st.sampled_from([-3.0, 8.0]))]
                 if start == "fixed" else "random")
    share = draw(st.sampled_from([0.05, 0.3, 0.9, 0.99, 1.01, 1.08, 1.5]))  # of 2/lambda_max
    optimal = 2.0 / (eigenvalues[0] + eigenvalues[-1])
    if draw(st.booleans()):
        gd_rate = float(f"{share * bound:.3g}")
    else:
        gd_rate = float(f"{optimal * draw(st.sampled_from([0.995, 1.0, 1.004])):.6g}")
    second = draw(st.sampled_from(["gd", "momentum", "nesterov", "adam", "rmsprop"]))
    if second in ("momentum", "nesterov"):
        second_rate = float(f"{draw(st.sampled_from([0.1, 0.3, 0.9])) * bound:.3g}")
    elif second in ("adam", "rmsprop"):
        second_rate = draw(st.sampled_from([0.05, 0.3, 1.0]))
    else:
        second_rate = float(f"{draw(st.sampled_from([0.2, 0.6])) * bound:.3g}")
    batch = draw(st.sampled_from([BATCH, BATCH, 1]))
    runs = [
        {"name": "GD", "optimizer": "gd", "learning_rate": gd_rate, "epochs": EPOCHS,
         "init": init},
        {"name": "Second", "optimizer": second, "learning_rate": second_rate, "epochs": EPOCHS,
         "init": init, "momentum": draw(st.sampled_from([0.5, 0.8, 0.9]))},
        {"name": "Batches", "optimizer": "gd", "learning_rate": float(f"{0.3 * bound:.3g}"),
         "epochs": EPOCHS if batch > 1 else 2, "batch_size": batch, "init": init},
    ]
    if second in ("momentum", "nesterov") and draw(st.booleans()):  # a pair at one setting
        other = "nesterov" if second == "momentum" else "momentum"
        runs.insert(2, {**runs[1], "name": "Pair", "optimizer": other})
    raw: dict[str, Any] = {
        "seed": seed, "device": "cpu",
        "data": {"n": N, "x_range": list(x_range), "noise": draw(st.sampled_from([0.0, 0.5, 2.0])),
                 "theta": [draw(st.sampled_from([-1.0, 4.0])), draw(st.sampled_from([0.5, 3.0]))]},
        "surface": {"resolution": 8, "theta0": [-6.0, 10.0], "theta1": [-6.0, 10.0]},
        "runs": runs,
    }
    if draw(st.booleans()):
        raw["sweep"] = {"rates": [float(f"{bound * s:.3g}") for s in
                                  (0.2, 0.5, 0.8, 0.95, 0.97, 1.0, 1.02, 1.3)],
                        "epochs": EPOCHS, "init": [0.0, 0.0]}
    return validate(raw, source="generated config")


# ---------------------------------------------------------------- the reference


class Facts:
    """What numpy says about a config: its data, closed form, curvature and every run."""

    def __init__(self, config: Config) -> None:
        self.config = config.normalised()
        self.plain = self.config
        draws = ref.draw_legacy(self.config)
        self.draws = draws
        self.x, self.y = draws.x, draws.y
        self.star = ref.ols(self.x, self.y)
        self.floor = ref.loss(self.star, self.x, self.y)
        self.hessian = ref.hessian(self.x)
        self.values, self.vectors = ref.eigen(self.hessian)
        self.low, self.high = float(self.values[0]), float(self.values[1])
        self.rounding = theory.ROUNDING * float(np.mean(self.y**2))
        self.tolerance = max(theory.TIE * self.floor, self.rounding)
        self.runs = [ref.run(spec["optimizer"], ref.hyper_of(spec), init, self.x, self.y,
                             spec["epochs"], spec["batch_size"], perms)
                     for spec, init, perms in zip(self.config["runs"], draws.inits,
                                                  draws.permutations, strict=True)]

    def spec(self, run: int) -> dict[str, Any]:
        return self.config["runs"][run]

    def parts(self, run: int) -> np.ndarray:
        return ref.error_parts(self.runs[run].thetas, self.star, self.vectors)

    def factors(self, rate: float) -> np.ndarray:
        return np.abs(1.0 - rate * self.values)

    def distance(self, theta: np.ndarray) -> float:
        return float(np.linalg.norm(theta - self.star))


def near(value: float, threshold: float, margin: float = 1e-6) -> bool:
    """Whether a verdict ``value < threshold`` is within rounding of flipping."""
    return abs(value - threshold) <= margin * max(abs(threshold), 1e-300)


Reference = Callable[..., Any]
REFERENCE: dict[str, Reference] = {}


def reference(name: str) -> Callable[[Reference], Reference]:
    def register(function: Reference) -> Reference:
        REFERENCE[name] = function
        return function
    return register


@reference("run_diverged")
@reference("run_divergence")
def _diverged(f: Facts, results: Results, run: int) -> Any:
    losses = f.runs[run].losses
    bound = theory.DIVERGENCE_FACTOR * losses[0]
    if np.isfinite(losses[-1]) and near(losses[-1], bound, 1e-9):
        return UNDECIDABLE
    return f.runs[run].diverged_step >= 0


@reference("distance_change")
def _distance_change(f: Facts, results: Results, run: int) -> Any:
    thetas = f.runs[run].thetas
    start, end = f.distance(thetas[0]), f.distance(thetas[-1])
    return UNDECIDABLE if near(end, start, 1e-9) else end < start


@reference("loss_rises")
def _loss_rises(f: Facts, results: Results, run: int) -> Any:
    losses = f.runs[run].losses
    loose = ref.rise_steps(losses, _core.RISE / 10, _core.ROUNDING_RISE / 10)
    strict = ref.rise_steps(losses, _core.RISE * 10, _core.ROUNDING_RISE * 10)
    if bool(loose) != bool(strict):
        return UNDECIDABLE
    return bool(strict)


@reference("rises_compared")
def _rises_compared(f: Facts, results: Results, run: int) -> Any:
    heavy = next(i for i, spec in enumerate(f.config["runs"]) if spec["optimizer"] == "momentum")
    counts = []
    for index in (run, heavy):
        losses = f.runs[index].losses
        loose = len(ref.rise_steps(losses, _core.RISE / 10, _core.ROUNDING_RISE / 10))
        strict = len(ref.rise_steps(losses, _core.RISE * 10, _core.ROUNDING_RISE * 10))
        if loose != strict:
            return UNDECIDABLE
        counts.append(strict)
    return counts[0] < counts[1]


@reference("bound_side")
def _bound_side(f: Facts, results: Results, run: int) -> Any:
    rate, bound = f.spec(run)["learning_rate"], 2.0 / f.high
    return UNDECIDABLE if near(rate, bound) else rate < bound


@reference("run_converged")
def _converged(f: Facts, results: Results, run: int) -> Any:
    parts = np.abs(f.parts(run))
    start, end = parts[0], parts[-1]
    usable = start > 1e-9 * np.max(start)
    left = end[usable] / start[usable]
    if np.any(np.abs(left - _core.CONVERGED_SHARE) <= 1e-6) or np.any(
            (start <= 1e-9 * np.max(start)) & (start >= 1e-15 * np.max(start))):
        return UNDECIDABLE
    return bool(np.all(left <= _core.CONVERGED_SHARE))


@reference("distance_rate")
def _distance_rate(f: Facts, results: Results, run: int) -> Any:
    thetas = f.runs[run].thetas
    factors = f.factors(f.spec(run)["learning_rate"])
    lag = float(np.max(factors))
    if abs(factors[0] - factors[1]) <= 0.01 * lag:
        return UNDECIDABLE if near(abs(factors[0] - factors[1]), 0.01 * lag) else False
    average = (f.distance(thetas[-1]) / f.distance(thetas[0])) ** (1 / (len(thetas) - 1))
    threshold = lag * (1 - _core.SAME)
    return UNDECIDABLE if near(average, threshold, 1e-8) else average < threshold


@reference("worst_case_only")
def _worst_case_only(f: Facts, results: Results, run: int) -> Any:
    spec = f.spec(run)
    init = f.runs[run].thetas[0]

    def end(rate: float) -> float:
        hyper = {**ref.hyper_of(spec), "learning_rate": rate}
        return f.distance(ref.run("gd", hyper, init, f.x, f.y, spec["epochs"]).thetas[-1])

    rate = spec["learning_rate"]
    lower, higher = end(rate * (1 - 1e-4)), end(rate * (1 + 1e-4))
    if abs(lower - higher) <= 1e-9 * end(rate):
        return UNDECIDABLE
    return lower < higher


def _observed(thetas: np.ndarray, f: Facts) -> float | None:
    parts = np.abs(ref.error_parts(thetas, f.star, f.vectors))
    start, end = parts[0], parts[-1]
    usable = start > 1e-12 * np.max(start)
    if not np.any(usable) or not np.all(np.isfinite(end)):
        return None
    return float(np.max((end[usable] / start[usable]) ** (1 / (len(thetas) - 1))))


@reference("observed_factor")
def _observed_factor(f: Facts, results: Results, run: int) -> Any:
    observed = _observed(f.runs[run].thetas, f)
    lag = float(np.max(f.factors(f.spec(run)["learning_rate"])))
    if observed is None or near(abs(observed - lag), _core.SAME * lag, 1e-3):
        return UNDECIDABLE
    return abs(observed - lag) <= _core.SAME * lag


@reference("minibatch_speed")
def _minibatch_speed(f: Facts, results: Results, run: int) -> Any:
    observed = _observed(f.runs[run].thetas, f)
    lag = float(np.max(f.factors(f.spec(run)["learning_rate"])))
    threshold = lag * (1 + _core.SAME)
    if observed is None or near(observed, threshold, 1e-6):
        return UNDECIDABLE
    return observed > threshold


@reference("shuffle_rank")
def _shuffle_rank(f: Facts, results: Results, run: int) -> Any:
    finals = ref.shuffle_finals(f.config, run, f.runs[run].thetas[0], f.x, f.y, SHUFFLE_REPEATS)
    own = f.runs[run].losses[-1]
    if np.any(np.abs(finals - (own - f.rounding)) <= 1e-3 * f.rounding + 1e-12 * own):
        return UNDECIDABLE
    return bool(np.sum(finals[np.isfinite(finals)] < own - f.rounding) > 0)


@reference("noise_floor")
def _noise_floor(f: Facts, results: Results, run: int) -> Any:
    return f.floor > 1e-12 * float(np.mean(f.y**2)) or not np.isfinite(f.runs[run].losses[-1])


@reference("twin_compare")
def _twin_compare(f: Facts, results: Results, run: int) -> Any:
    spec = f.spec(run)
    steps = len(f.runs[run].losses) - 1
    twin = ref.run(spec["optimizer"], ref.hyper_of(spec), f.runs[run].thetas[0], f.x, f.y, steps)
    mine, theirs = f.runs[run].losses[-1] - f.rounding, twin.losses[-1]
    if abs(theirs - mine) <= 1e-3 * f.rounding + 1e-12 * abs(mine):
        return UNDECIDABLE
    return theirs < mine


@reference("observed_vs_predicted")
def _observed_vs_predicted(f: Facts, results: Results, run: int) -> Any:
    spec = f.spec(run)
    predicted = ref.momentum_radius(spec["learning_rate"], spec["momentum"], f.values,
                                    spec["optimizer"] == "nesterov")
    observed = _observed(f.runs[run].thetas, f)
    if observed is None or near(abs(observed - predicted), _core.SAME * predicted, 1e-3):
        return UNDECIDABLE
    return abs(observed - predicted) <= _core.SAME * predicted


def _last_moves(f: Facts, run: int) -> np.ndarray:
    thetas = f.runs[run].thetas
    window = thetas[-(min(_runs.LAST_STEPS, len(thetas) - 1) + 1):]
    return np.abs(np.diff(window, axis=0)).max(axis=1)


@reference("adaptive_step_size")
def _adaptive_step_size(f: Facts, results: Results, run: int) -> Any:
    moves, rate = _last_moves(f, run), f.spec(run)["learning_rate"]
    return UNDECIDABLE if near(moves.min(), 0.5 * rate, 1e-6) else bool(moves.min() >= 0.5 * rate)


@reference("adaptive_steps_shrink")
def _adaptive_steps_shrink(f: Facts, results: Results, run: int) -> Any:
    moves = _last_moves(f, run)
    return UNDECIDABLE if near(moves[-1], moves[0], 1e-6) else bool(moves[-1] < moves[0])


@reference("near_optimal")
def _near_optimal(f: Facts, results: Results, run: int) -> Any:
    offset = f.spec(run)["learning_rate"] * (f.low + f.high) / 2 - 1
    return UNDECIDABLE if near(abs(offset), _runs.NEAR_OPTIMAL) else abs(offset) < \
        _runs.NEAR_OPTIMAL


@reference("polyak_from_start")
def _polyak(f: Facts, results: Results, run: int) -> Any:
    root_low, root_high = math.sqrt(f.low), math.sqrt(f.high)
    lr = 4 / (root_low + root_high) ** 2
    factor = (root_high - root_low) / (root_high + root_low)
    asymptotic = math.ceil(math.log(0.01) / math.log(factor)) if factor > 0 else 1
    hyper = {**ref.hyper_of(f.spec(run)), "learning_rate": lr, "momentum": factor**2}
    start = f.runs[run].thetas[0]
    record = ref.run("momentum", hyper, start, f.x, f.y, max(4 * asymptotic, 50))
    sizes = [f.distance(theta) for theta in record.thetas]
    hits = [k for k, size in enumerate(sizes) if size <= 0.01 * sizes[0]]
    if not hits or any(near(size, 0.01 * sizes[0], 1e-6) for size in sizes):
        return UNDECIDABLE
    return hits[0] <= asymptotic


@reference("path_shape")
def _path_shape(f: Facts, results: Results, run: int) -> Any:
    parts = np.abs(f.parts(run))
    along, across = parts[:, 0], parts[:, 1]
    start = math.hypot(along[0], across[0])
    if start == 0:
        return (False, "at-optimum")
    if across[0] < _paths.NEAR_FLOOR * start:
        if near(across[0], _paths.NEAR_FLOOR * start) or near(
                float(np.max(across)), _paths.NEAR_FLOOR * start):
            return UNDECIDABLE
        stays = np.max(across) <= _paths.NEAR_FLOOR * start
        return (False, "near-floor" if stays else "near-floor-swings")
    signed = f.parts(run)
    direction = signed[0] / start
    offsets = np.abs(signed[:, 0] * direction[1] - signed[:, 1] * direction[0])
    if near(float(offsets.max()), _paths.STRAIGHT * start, 1e-6):
        return UNDECIDABLE
    if offsets.max() <= _paths.STRAIGHT * start:
        return (False, "straight")
    for k in range(len(along)):
        if across[k] <= _paths.DROPPED * across[0] and along[k] >= _paths.HALF * along[0]:
            if np.max(across[k:]) <= _paths.STAYS_DOWN * across[0]:
                return (True, "steep-then-floor")
            break
    return (False, "curves")


@reference("excess_straight")
def _excess_straight(f: Facts, results: Results, run: int) -> Any:
    factors = f.factors(f.spec(run)["learning_rate"])
    if abs(factors[0] - factors[1]) <= 1e-9 * factors.max():
        return (True, "balanced")
    parts = f.parts(run)
    excess = 0.5 * parts**2 * f.values
    faster = int(np.argmin(factors))
    total = excess.sum(axis=1)
    share = excess[-1, faster] / total[-1] if total[-1] > 0 else 0.0
    if near(share, _core.CONVERGED_SHARE, 1e-4):
        return UNDECIDABLE
    if share > _core.CONVERGED_SHARE:
        return (False, "bent")
    if near(total[-1], _paths.ROUNDING * f.floor, 1e-2) or total[-1] < 1e-25:
        return UNDECIDABLE
    return (True, "straight-rounding" if total[-1] <= _paths.ROUNDING * f.floor else "straight")


@reference("valley_shape")
def _valley_shape(f: Facts, results: Results) -> Any:
    kappa = f.high / f.low
    return UNDECIDABLE if near(kappa, _valley.LONG_VALLEY) else kappa >= _valley.LONG_VALLEY


@reference("valley_cause")
def _valley_cause(f: Facts, results: Results) -> Any:
    cosine = abs(np.mean(f.x)) / math.sqrt(np.mean(f.x) ** 2 + np.var(f.x))
    return UNDECIDABLE if near(cosine, _valley.SIMILAR_COLUMNS) else \
        cosine >= _valley.SIMILAR_COLUMNS


@reference("ols_not_truth")
def _ols_not_truth(f: Facts, results: Results) -> Any:
    true = np.array(f.config["data"]["theta"])
    gap = np.abs(f.star - true)
    if np.any((gap > 1e-12) & (gap < 1e-6)):
        return UNDECIDABLE
    return bool(np.any(gap > 1e-6))


@reference("grid_minimum")
def _grid_minimum(f: Facts, results: Results) -> Any:
    settings_ = f.config["surface"]
    theta0, theta1, grid = ref.surface(settings_["theta0"], settings_["theta1"],
                                       settings_["resolution"], f.x, f.y)
    row, col = np.unravel_index(np.argmin(grid), grid.shape)
    steps = (theta0[1] - theta0[0], theta1[1] - theta1[0])
    gaps = (abs(theta0[col] - f.star[0]), abs(theta1[row] - f.star[1]))
    if any(near(g, s, 1e-6) for g, s in zip(gaps, steps, strict=True)):
        return UNDECIDABLE
    return all(g <= s for g, s in zip(gaps, steps, strict=True))


@reference("centring")
def _centring(f: Facts, results: Results) -> Any:
    centred = f.x - f.x.mean()
    values = np.linalg.eigvalsh(ref.hessian(centred))
    raw, after = f.high / f.low, values[1] / values[0]
    return UNDECIDABLE if near(raw, after, 1e-8) else raw > after


@reference("worst_case_bound")
def _worst_case_bound(f: Facts, results: Results) -> Any:
    rates = np.linspace(0, 2.0 / f.high, 20001)
    worst = np.max(np.abs(1 - np.outer(rates, f.values)), axis=1)
    kappa = f.high / f.low
    assert np.min(worst) == pytest.approx((kappa - 1) / (kappa + 1), abs=2e-4)
    assert rates[np.argmin(worst)] == pytest.approx(2 / (f.low + f.high), rel=1e-3)
    return True


@reference("rate_verdict")
def _rate_verdict(f: Facts, results: Results, rate: float) -> Any:
    factor = float(np.max(f.factors(rate)))
    return UNDECIDABLE if near(factor, 1.0, 1e-12) else factor < 1


def _sweep(f: Facts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sweep = f.config["sweep"]
    rates = np.array(sweep["rates"])
    finals, diverged = ref.gd_sweep(rates, np.array(sweep["init"]), f.x, f.y, sweep["epochs"])
    return rates, finals, diverged | ~np.isfinite(finals)


@reference("sweep_best")
def _sweep_best(f: Facts, results: Results) -> Any:
    _rates, finals, diverged = _sweep(f)
    ok = finals[~diverged]
    if not ok.size:
        return (False, "none")
    tolerance = f.tolerance
    gaps = ok - ok.min()
    if np.any(np.abs(gaps - tolerance) <= 1e-3 * tolerance + 1e-15 * ok.min()):
        return UNDECIDABLE
    count = int(np.sum(gaps <= tolerance))
    return (count >= 2, "tie" if count >= 2 else "one")


@reference("sweep_bound")
def _sweep_bound(f: Facts, results: Results) -> Any:
    rates, _finals, diverged = _sweep(f)
    bound = 2.0 / f.high
    if np.any([near(r, bound) for r in rates]):
        return UNDECIDABLE
    below = rates < bound
    return bool(not np.any(diverged & below) and np.all(diverged[~below]))


def _tuned_best(f: Facts, results: Results, method: int) -> Any:
    """The declared procedure, in numpy: (rate, beta, final loss) of the best setting, or
    None when every setting diverged; UNDECIDABLE when a near tie makes the pick fragile."""
    tuning = results.tuning
    assert tuning is not None
    tuned = tuning.methods[method]
    spec = next(s for s in f.config["runs"] if s["optimizer"] == tuned.optimizer)
    init = np.array(tuning.init)
    adaptive = tuned.optimizer in ("adam", "rmsprop")
    scale = f.distance(init) if adaptive else 2.0 / f.high
    rates = ref.rate_grid(scale if scale > 0 else 1.0)
    betas = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95] if tuned.optimizer in ("momentum", "nesterov") \
        else [spec["momentum"]]
    found = []
    for j, rate in enumerate(rates):
        for i, beta in enumerate(betas):
            hyper = {**ref.hyper_of(spec), "learning_rate": float(rate), "momentum": beta}
            record = ref.run(tuned.optimizer, hyper, init, f.x, f.y, tuning.steps)
            final = record.losses[-1]
            if np.isfinite(final) and final <= theory.DIVERGENCE_FACTOR * record.losses[0]:
                found.append((final, j, i, float(rate), beta))
    if not found:
        return None
    lowest = min(v[0] for v in found)
    tolerance = f.tolerance
    if any(abs(v[0] - lowest - tolerance) <= 1e-2 * tolerance + 1e-14 * lowest for v in found):
        return UNDECIDABLE
    tied = sorted((j, i, rate, beta, final) for final, j, i, rate, beta in found
                  if final <= lowest + tolerance)
    _, _, rate, beta, final = tied[0]
    return rate, beta if len(betas) > 1 else None, final


@reference("tuned_setting")
def _tuned_setting(f: Facts, results: Results, method: int) -> Any:
    best = _tuned_best(f, results, method)
    if best is UNDECIDABLE:
        return UNDECIDABLE
    tuned = results.tuning.methods[method]  # type: ignore[union-attr]
    if best is not None:  # the recorded best setting is the one numpy finds
        assert tuned.learning_rate == pytest.approx(best[0], rel=1e-12)
        assert tuned.momentum == best[1]
    return best is not None


@reference("tuned_ranking")
def _tuned_ranking(f: Facts, results: Results) -> Any:
    tuning = results.tuning
    assert tuning is not None
    finals = []
    for tuned in tuning.methods:
        if tuned.learning_rate is None:
            continue
        spec = next(s for s in f.config["runs"] if s["optimizer"] == tuned.optimizer)
        hyper = {**ref.hyper_of(spec), "learning_rate": tuned.learning_rate,
                 "momentum": tuned.momentum if tuned.momentum is not None else spec["momentum"]}
        finals.append(ref.run(tuned.optimizer, hyper, np.array(tuning.init), f.x, f.y,
                              tuning.steps).losses[-1])
    if not finals:
        return False
    finals.sort()
    tolerance = f.tolerance
    if len(finals) > 1 and near(finals[1] - finals[0], tolerance, 1e-2):
        return UNDECIDABLE
    return len(finals) == 1 or finals[1] - finals[0] > tolerance


@reference("run_is_tuned")
def _run_is_tuned(f: Facts, results: Results, run: int) -> Any:
    spec = f.spec(run)
    tuning = results.tuning
    assert tuning is not None
    index = next(i for i, m in enumerate(tuning.methods) if m.optimizer == spec["optimizer"])
    best = _tuned_best(f, results, index)
    if best is UNDECIDABLE:
        return UNDECIDABLE
    same_start = spec["batch_size"] == f.config["data"]["n"] and spec["epochs"] == \
        tuning.steps and np.array_equal(f.runs[run].thetas[0], tuning.init)
    return bool(best is not None and same_start and spec["learning_rate"] == best[0]
                and (best[1] is None or spec["momentum"] == best[1]))


@reference("closest_run")
def _closest_run(f: Facts, results: Results) -> Any:
    ranked, basis = _compare.ranked_runs(results)  # which runs compare: structure, not numbers
    if not ranked:
        return (False, basis)
    finals = sorted(f.runs[i].losses[-1] if np.isfinite(f.runs[i].losses[-1]) else math.inf
                    for i in ranked)
    tolerance = f.tolerance
    if math.isinf(finals[0]):
        return (False, basis)
    if near(finals[1] - finals[0], tolerance, 1e-2) if np.isfinite(finals[1]) else False:
        return UNDECIDABLE
    return (not finals[1] - finals[0] <= tolerance, basis)


@reference("same_start")
def _same_start(f: Facts, results: Results) -> Any:
    starts = {tuple(run.thetas[0]) for run in f.runs}
    return len(starts) == 1


# ---------------------------------------------------------------- the properties


def test_every_claim_has_a_reference() -> None:
    assert set(REFERENCE) == set(claims.REGISTRY)


def check_claims(config: Config) -> dict[str, int]:
    """Every claim on the results of ``config`` against numpy; how many were compared."""
    results, _ = compute(config)
    facts = Facts(config)
    checked: dict[str, int] = {}
    for found in claims.every_claim(results):
        expected = REFERENCE[found.name](facts, results, **found.args)
        if expected is UNDECIDABLE:
            continue
        holds, kind = expected if isinstance(expected, tuple) else (expected, None)
        where = f"{found.name} {dict(found.args)}: {found.text!r}"
        assert found.holds == holds, where
        if kind is not None:
            assert found.kind == kind, where
        assert found.text or found.holds is None, where
        checked[found.name] = checked.get(found.name, 0) + 1
    return checked


@given(configs())
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_every_claim_agrees_with_numpy(config: Config) -> None:
    check_claims(config)


def test_the_suite_reaches_every_claim() -> None:
    """Four fixed configs (steep and flat valleys, rates on both sides of 2/lambda_max,
    every rule, mini-batch and SGD, a sweep) reach every registered claim at least once."""
    values = _eigenvalues(7, (1.0, 3.0))
    bound, optimal = 2.0 / values[-1], 2.0 / (values[0] + values[-1])

    def runs(second: str, rate: float, batch: int) -> list[dict[str, Any]]:
        init = [-2.0, 8.0]
        return [
            {"name": "A", "optimizer": "gd", "learning_rate": float(f"{0.99 * bound:.3g}"),
             "epochs": EPOCHS, "init": init},
            {"name": "B", "optimizer": second, "learning_rate": rate, "epochs": EPOCHS,
             "init": init, "momentum": 0.8},
            {"name": "C", "optimizer": "nesterov", "learning_rate": rate, "epochs": EPOCHS,
             "init": init, "momentum": 0.8},
            {"name": "D", "optimizer": "gd", "learning_rate": float(f"{0.3 * bound:.3g}"),
             "epochs": 2, "batch_size": batch, "init": init},
            {"name": "E", "optimizer": "gd", "learning_rate": float(f"{1.002 * optimal:.6g}"),
             "epochs": EPOCHS, "init": init},
        ]

    base = {"seed": 7, "device": "cpu", "data": {"n": N, "x_range": [1.0, 3.0], "noise": 0.5},
            "surface": {"resolution": 8, "theta0": [-6.0, 10.0], "theta1": [-6.0, 10.0]},
            "sweep": {"rates": [float(f"{bound * s:.3g}") for s in (0.5, 0.9, 1.02, 1.3)],
                      "epochs": EPOCHS, "init": [0.0, 0.0]}}
    checked: dict[str, int] = {}
    for second, rate, batch in (("momentum", float(f"{0.3 * bound:.3g}"), BATCH),
                                ("adam", 0.3, 1), ("rmsprop", 0.3, BATCH)):
        config = validate({**base, "runs": runs(second, rate, batch)}, source="test")
        for name, count in check_claims(config).items():
            checked[name] = checked.get(name, 0) + count
    flat_bound = 2.0 / _eigenvalues(7, (-1.0, 1.0))[-1]
    flat = validate({**base, "data": {"n": N, "x_range": [-1.0, 1.0], "noise": 0.0},
                     "runs": [{"name": "A", "learning_rate": float(f"{1.5 * flat_bound:.3g}"),
                               "epochs": EPOCHS, "init": [0.0, 0.0]},
                              {"name": "B", "learning_rate": float(f"{0.5 * flat_bound:.3g}"),
                               "epochs": 2, "batch_size": BATCH, "init": "random"}]},
                    source="test")
    for name, count in check_claims(flat).items():
        checked[name] = checked.get(name, 0) + count
    assert set(checked) == set(claims.REGISTRY), set(claims.REGISTRY) - set(checked)
