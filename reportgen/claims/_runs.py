"""Claims about one run: where it ended, whether it diverged, how fast its error shrank."""

from __future__ import annotations

import math

import numpy as np

from reportgen import theory
from reportgen.claims._core import (
    CONVERGED_SHARE,
    SAME,
    Claim,
    claim,
    components,
    each_run,
    first_nonfinite,
    is_full_gd,
    is_minibatch,
    optimum,
    rises,
    runs_where,
    valley,
    withheld_words,
)
from reportgen.formatting import fmt_count, fmt_num, fmt_pct, fmt_rate, fmt_share
from reportgen.store.results import Results, Run
from reportgen.theory import DIVERGENCE_FACTOR

#: A rate within this relative distance of 2/(λ_min + λ_max) is "near the optimal rate".
NEAR_OPTIMAL = 0.01
#: The remaining error lies "almost entirely" along one direction from this share on.
ALMOST_ALL = 0.99
#: The window of an adaptive run's last steps whose sizes are compared with eta.
LAST_STEPS = 10


def _factors(results: Results, run: Run) -> tuple[float, float] | None:
    """(|1 - eta λ_min|, |1 - eta λ_max|), or None where the eigenvalues are withheld."""
    eigenvalues = results.diagnostics.eigenvalues
    if eigenvalues is None:
        return None
    low, high = eigenvalues
    return (float(theory.gd_factor(run.learning_rate, low)),
            float(theory.gd_factor(run.learning_rate, high)))


def _losses_shown(losses: np.ndarray, count: int = 3) -> str:
    shown = [fmt_num(float(v)) for v in losses[:count] if math.isfinite(v)]
    return ", ".join(shown) + (", …" if len(losses) > count else "")


@claim(each_run)
def run_diverged(results: Results, run: int) -> Claim:
    """The run diverged: its loss ended non-finite or above DIVERGENCE_FACTOR x its start."""
    record = results.runs[run]
    args = {"run": run}
    if not record.diverged:
        return Claim("run_diverged", args, False, "did not diverge", "no")
    start = record.diverged_step
    overflow = first_nonfinite(record.losses)
    when = f" from step {start}" if start is not None else ""
    text = f"diverged{when}"
    short = f"yes{',' if when else ''}{when}"
    if overflow is not None:
        text += f" and overflowed at step {overflow}"
    return Claim("run_diverged", args, True, text, short)


@claim(each_run)
def run_divergence(results: Results, run: int) -> Claim:
    """How the loss of a run behaved: where it first rose and whether it stayed above
    DIVERGENCE_FACTOR x its start (the divergence flag), told as it happened."""
    record = results.runs[run]
    args = {"run": run}
    losses = record.losses
    up = rises(losses)
    steps = record.steps
    limit = fmt_num(DIVERGENCE_FACTOR)
    if not up:
        rose = f"its loss never rose in its {fmt_count(steps, 'step')}"
    elif len(up) == steps:
        rose = f"its loss rose at every step from the start ({_losses_shown(losses)})"
    else:
        rose = (f"its loss first rose at step {up[0]} and rose in {len(up)} of its "
                f"{fmt_count(steps, 'step')}")
    if not record.diverged:
        return Claim("run_divergence", args, False,
                     f"{rose}, and it ended within {limit} times its starting value: "
                     f"it did not diverge")
    overflow = first_nonfinite(losses)
    text = rose
    if record.diverged_step is not None and (overflow is None
                                             or record.diverged_step < overflow):
        text += (f"; it passed {limit} times its starting value at step "
                 f"{record.diverged_step} and stayed above it, which is where reportgen "
                 f"flags a run as diverged")
    if overflow is not None:
        text += (f"; at step {overflow} its numbers left the range of "
                 f"{results.config.precision} (the figures stop at its last finite value)")
    return Claim("run_divergence", args, True, text)


@claim(runs_where(lambda _r, run: run.final_theta is not None))
def distance_change(results: Results, run: int) -> Claim:
    """The run ended closer to theta* than it started."""
    record = results.runs[run]
    star = optimum(results)
    args = {"run": run}
    if star is None or record.final_theta is None:
        return Claim("distance_change", args, None, "")
    start = float(np.linalg.norm(record.theta_init - star))
    end = float(np.linalg.norm(record.final_theta - star))
    if start == 0:
        return Claim("distance_change", args, end == 0,
                     f"It started at θ* and ended {fmt_num(end)} from it")
    closer = end < start
    verb = "shrank" if closer else "grew"
    return Claim("distance_change", args, closer,
                 f"Its distance to θ* {verb} from {fmt_num(start)} to {fmt_num(end)} "
                 f"({fmt_share(end / start)} the start)")


@claim(each_run)
def loss_rises(results: Results, run: int) -> Claim:
    """The full-data loss rose at some step (by more than rounding)."""
    record = results.runs[run]
    args = {"run": run}
    up = rises(record.losses)
    steps = fmt_count(record.steps, "step")
    if not up:
        return Claim("loss_rises", args, False,
                     f"The full-data loss never rose in its {steps}", "never rose")
    text = f"The full-data loss rose in {len(up)} of its {steps}"
    if not record.full_batch:
        text += (", which full-batch gradient descent at a rate below 2/λ_max never does: "
                 "each step follows its batch’s gradient, not the whole data’s")
    elif record.optimizer == "momentum":
        text += ": the heavy ball overshoots the valley floor and swings back"
    return Claim("loss_rises", args, True, text, f"rose in {len(up)} of {steps}")


def _heavy_ball_twin(results: Results, run: Run) -> Run | None:
    """The first heavy-ball run, if there is one (Nesterov is compared with it)."""
    return next((other for other in results.runs if other.optimizer == "momentum"), None)


def _same_settings(results: Results, a: Run, b: Run) -> bool:
    spec_a = results.config.runs[results.runs.index(a)]
    spec_b = results.config.runs[results.runs.index(b)]
    return (a.learning_rate == b.learning_rate and spec_a.momentum == spec_b.momentum
            and np.array_equal(a.theta_init, b.theta_init) and a.steps == b.steps
            and a.full_batch == b.full_batch)


@claim(runs_where(lambda results, run: run.optimizer == "nesterov"
                  and any(other.optimizer == "momentum" for other in results.runs)))
def rises_compared(results: Results, run: int) -> Claim:
    """Nesterov's loss rose at fewer steps than the heavy ball's."""
    record = results.runs[run]
    heavy = _heavy_ball_twin(results, record)
    assert heavy is not None
    mine, theirs = len(rises(record.losses)), len(rises(heavy.losses))
    args = {"run": run}
    fewer = mine < theirs
    if not _same_settings(results, record, heavy):
        return Claim("rises_compared", args, fewer,
                     f"the heavy ball’s, at its own settings, rose in {theirs} of its "
                     f"{fmt_count(heavy.steps, 'step')}", kind="other-settings")
    if fewer:
        text = (f"fewer than the heavy ball’s {theirs} at the same settings: looking ahead "
                f"damps the overshoot")
        kind = "fewer"
    elif mine == theirs:
        text = (f"as often as the heavy ball at the same settings ({theirs}): here looking "
                f"ahead does not damp the overshoot")
        kind = "as-often"
    else:
        text = f"more often than the heavy ball at the same settings ({theirs})"
        kind = "more"
    return Claim("rises_compared", args, fewer, text, kind=kind)


@claim(runs_where(is_full_gd))
def bound_side(results: Results, run: int) -> Claim:
    """The run's rate is below the stability bound 2/λ_max."""
    record = results.runs[run]
    args = {"run": run}
    rate = fmt_rate(record.learning_rate)
    bound = results.diagnostics.max_stable_lr
    factors = _factors(results, record)
    if bound is None or factors is None:
        return Claim("bound_side", args, None,
                     f"Whether η = {rate} is below the stability bound 2/λ_max, "
                     f"{withheld_words(results, 'diagnostics.max_stable_lr')}, decides "
                     f"whether every step shrinks the error")
    below = record.learning_rate < bound
    fast = factors[1]
    if below:
        return Claim("bound_side", args, True,
                     f"Because η = {rate} is below 2/λ_max = {fmt_num(bound)}, every step "
                     f"shrinks the error", "below 2/λ_max")
    text = (f"η = {rate} is above the stability bound 2/λ_max = {fmt_num(bound)}: along the "
            f"steep direction every step multiplies the error by |1 − ηλ_max| = "
            f"{fmt_num(fast)}")
    if fast > 1:
        doubling = math.log(2) / math.log(fast)
        text += (f", more than 1, so that component grows, doubling about every "
                 f"{fmt_num(doubling)} steps, however close the run starts")
    else:
        text += ", exactly 1: that component flips sign at every step without shrinking"
    return Claim("bound_side", args, False, text, "above 2/λ_max")


def _share(values: np.ndarray, index: int) -> float:
    norm = float(np.linalg.norm(values))
    return abs(float(values[index])) / norm if norm > 0 else 0.0


def _left_words(share: float) -> str:
    """'at 72.1% of its start', 'at 12.7 times its start'."""
    return f"at {fmt_pct(share)} of its start" if share <= 1 else \
        f"at {fmt_share(share)} its start"


@claim(runs_where(lambda _r, run: run.final_theta is not None and not run.diverged))
def run_converged(results: Results, run: int) -> Claim:
    """Every component of the error (along the floor and across the valley) ended below
    CONVERGED_SHARE of its start."""
    record = results.runs[run]
    args = {"run": run}
    parts = components(results, record.thetas)
    if parts is None:
        return Claim("run_converged", args, None, "")
    start, end = np.abs(parts[0]), np.abs(parts[-1])
    usable = start > 1e-12 * max(float(np.max(start)), 1e-300)
    left = np.where(usable, end / np.where(usable, start, 1.0), 0.0)
    converged = bool(np.all(left <= CONVERGED_SHARE))
    steps = fmt_count(record.steps, "step")
    if converged:
        text = (f"After {steps} both components of the error are below 1% of their start "
                f"(across the valley {fmt_pct(left[1])}, along its floor {fmt_pct(left[0])}): "
                f"the run has converged")
        return Claim("run_converged", args, True, text, "converged")
    text = (f"After {steps} the error across the valley is {_left_words(left[1])} and "
            f"along the floor {_left_words(left[0])}: the run has not converged")
    along, across = _share(parts[-1], 0), _share(parts[-1], 1)
    if along >= ALMOST_ALL:
        text += (f"; what error remains lies almost entirely along the floor of the valley "
                 f"(the part across it is {fmt_pct(across)} of its size)")
    elif across >= ALMOST_ALL:
        text += (f"; what error remains lies almost entirely across the valley (the part "
                 f"along the floor is {fmt_pct(along)} of its size)")
    factors = _factors(results, record)
    if factors is not None and record.optimizer == "gd" and record.full_batch:
        slow = max(factors)
        needed = theory.steps_to_fraction(slow, CONVERGED_SHARE)
        if needed is not None:
            text += (f", and at this rate shrinking the slower component to 1% would take "
                     f"{fmt_count(needed, 'step')} in all")
    return Claim("run_converged", args, False, text, "not converged")


@claim(runs_where(lambda results, run: is_full_gd(results, run) and run.final_theta is not None
                  and not run.diverged))
def distance_rate(results: Results, run: int) -> Claim:
    """The distance to theta* fell faster on average than the slower factor (the other
    component died out first)."""
    record = results.runs[run]
    args = {"run": run}
    star = optimum(results)
    factors = _factors(results, record)
    if star is None or factors is None or record.final_theta is None:
        return Claim("distance_rate", args, None, "")
    start = float(np.linalg.norm(record.theta_init - star))
    end = float(np.linalg.norm(record.final_theta - star))
    average = theory.geometric_rate(start, end, record.steps)
    if average is None or average == 0:
        return Claim("distance_rate", args, None, "")
    slow_factor, fast_factor = factors
    lag = max(factors)
    direction = "shallow" if slow_factor >= fast_factor else "steep"
    other = "steep" if direction == "shallow" else "shallow"
    said = f"The distance to θ* fell by a factor {fmt_num(average)} per step on average"
    if abs(slow_factor - fast_factor) <= 0.01 * lag:
        return Claim("distance_rate", args, False,
                     f"{said}, close to both factors, which nearly balance at this rate "
                     f"({fmt_num(slow_factor)} and {fmt_num(fast_factor)})")
    if average < lag * (1 - SAME):
        parts = components(results, record.thetas)
        assert parts is not None
        index = 1 if other == "steep" else 0
        other_factor = min(factors)
        gone = _share(parts[-1], index) < CONVERGED_SHARE
        tail = (f"; by the last step that part is gone (under 1% of the remaining error), so "
                f"from here on the distance falls by about {fmt_num(lag)} per step" if gone else
                f"; once that part is gone the distance falls by about {fmt_num(lag)} per step")
        return Claim("distance_rate", args, True,
                     f"{said}, faster than the {direction} factor {fmt_num(lag)}, because the "
                     f"{other} part of the starting error shrinks faster, by "
                     f"{fmt_num(other_factor)} per step{tail}")
    parts = components(results, record.thetas)
    assert parts is not None
    rest = _share(parts[0], 1 if direction == "shallow" else 0)
    return Claim("distance_rate", args, False,
                 f"{said}, close to the {direction} factor {fmt_num(lag)}: the part of the "
                 f"starting error along the {other} direction was only {fmt_pct(rest)} of its "
                 f"size")


def _final_distance_slope(results: Results, record: Run) -> float | None:
    """d|e_T|^2 / d eta for full-batch GD from the run's start (exact on the quadratic)."""
    parts = components(results, record.thetas[:1])
    if parts is None:
        return None
    shape = valley(results)
    steps = record.steps
    slope = 0.0
    for component, curvature in zip(parts[0], (shape.low, shape.high), strict=True):
        factor = 1.0 - record.learning_rate * curvature
        slope += component**2 * 2 * steps * factor ** (2 * steps - 1) * (-curvature)
    return slope


@claim(runs_where(lambda results, run: is_full_gd(results, run) and not run.diverged
                  and results.diagnostics.optimal_lr is not None
                  and abs(run.learning_rate / results.diagnostics.optimal_lr - 1)
                  < NEAR_OPTIMAL))
def worst_case_only(results: Results, run: int) -> Claim:
    """Near the optimal rate: from this start a slightly lower rate ends closer to theta*
    (holds), or a slightly higher one (does not hold)."""
    record = results.runs[run]
    args = {"run": run}
    slope = _final_distance_slope(results, record)
    lead = ("No fixed rate has a better worst case than this one, but that is a statement "
            "about the worst start")
    if slope is None:
        return Claim("worst_case_only", args, None,
                     f"{lead}: from a given start another rate can end closer to θ*")
    if slope == 0:
        return Claim("worst_case_only", args, False,
                     f"{lead}; from this start it is also locally the best rate")
    lower = slope > 0
    return Claim("worst_case_only", args, lower,
                 f"{lead}: from this start a slightly {'lower' if lower else 'higher'} rate "
                 f"ends closer to θ*")


@claim(runs_where(lambda results, run: is_full_gd(results, run) and run.observed_rate
                  is not None))
def observed_factor(results: Results, run: int) -> Claim:
    """The slowest component's measured factor equals max(|1 - eta λ|) to the digits shown."""
    record = results.runs[run]
    args = {"run": run}
    factors = _factors(results, record)
    observed = record.observed_rate
    assert observed is not None
    if factors is None:
        return Claim("observed_factor", args, None,
                     f"The slowest component of the error shrank by {fmt_num(observed)} per "
                     f"step")
    lag = max(factors)
    which = "min" if factors[0] >= factors[1] else "max"
    direction = "shallow" if which == "min" else "steep"
    same = abs(observed - lag) <= SAME * max(lag, 1e-300)
    if same:
        text = (f"The {direction} component alone shrank by {fmt_num(observed)} per step, "
                f"which is |1 − ηλ_{which}| to the digits shown: for full-batch gradient "
                f"descent on a quadratic this is algebra, not an experiment")
    else:
        text = (f"The slowest component of the error shrank by {fmt_num(observed)} per step, "
                f"against |1 − ηλ_{which}| = {fmt_num(lag)}")
    return Claim("observed_factor", args, same, text)


@claim(runs_where(lambda _r, run: is_minibatch(_r, run) and run.observed_rate is not None))
def minibatch_speed(results: Results, run: int) -> Claim:
    """The batch noise cost speed: the slowest component shrank more slowly than full-batch
    steps at the same rate would have shrunk it."""
    record = results.runs[run]
    args = {"run": run}
    factors = _factors(results, record)
    observed = record.observed_rate
    assert observed is not None
    said = f"Along the slowest direction the error shrank by {fmt_num(observed)} per update"
    if factors is None:
        return Claim("minibatch_speed", args, None, said)
    lag = max(factors)
    which = "min" if factors[0] >= factors[1] else "max"
    against = f"{said}, against |1 − ηλ_{which}| = {fmt_num(lag)} for full-batch steps at " \
              f"this rate"
    if observed > lag * (1 + SAME):
        return Claim("minibatch_speed", args, True, f"{against}: the batch noise costs some "
                                                      f"speed")
    if observed < lag * (1 - SAME):
        return Claim("minibatch_speed", args, False, f"{against}: the batch noise happened "
                                                       f"to help")
    return Claim("minibatch_speed", args, False, f"{against}: about the same")


@claim(runs_where(lambda _r, run: run.shuffles is not None and run.final_loss is not None))
def shuffle_rank(results: Results, run: int) -> Claim:
    """Some of the other shufflings ended lower than the run itself."""
    record = results.runs[run]
    shuffles = record.shuffles
    assert shuffles is not None and record.final_loss is not None
    args = {"run": run}
    finals = [float(v) for v in shuffles.final_losses if math.isfinite(v)]
    summary = results.data.summary
    margin = theory.ROUNDING * (summary.y_mean**2 + summary.y_std**2)  # rounding is no rank
    lower = sum(1 for v in finals if v < record.final_loss - margin)
    floor = results.ols.loss
    if record.gap_to_ols is not None and finals:
        gaps = sorted(v / floor - 1.0 for v in finals)
        spread = (f"Repeated with {shuffles.repeats} other shufflings from the same start and "
                  f"rate, mini-batch gradient descent ended between {fmt_pct(gaps[0])} and "
                  f"{fmt_pct(gaps[-1])} above J* (median {fmt_pct(float(np.median(gaps)))})")
        own = f"this run’s {fmt_pct(record.gap_to_ols)}"
    else:
        spread = f"Repeated with {shuffles.repeats} other shufflings from the same start and rate"
        own = "this run’s final loss"
    verdict = ("none of them ended lower than " + own if lower == 0 else
               f"{lower} of the {shuffles.repeats} ended lower than {own}")
    return Claim("shuffle_rank", args, lower > 0, f"{spread}; {verdict}")


@claim(runs_where(is_minibatch))
def noise_floor(results: Results, run: int) -> Claim:
    """The batch noise does not die out at a fixed rate (the data do not lie on a line)."""
    record = results.runs[run]
    args = {"run": run}
    noisy = record.gap_to_ols is not None or record.final_loss is None
    if noisy:
        text = ("At a fixed rate the noise does not die out: the iterates end up jittering "
                "around θ* in a cloud whose size grows with η and with 1/(batch size)")
    else:
        text = ("Here the data lie on a line, so every batch’s gradient vanishes at θ* and the "
                "noise dies out as the run closes in")
    return Claim("noise_floor", args, noisy, text)


@claim(runs_where(lambda _r, run: run.full_batch_twin is not None
                  and run.full_batch_twin.final_loss is not None
                  and run.final_loss is not None))
def twin_compare(results: Results, run: int) -> Claim:
    """Per update the full-batch twin does better than the mini-batch run (holds), while
    after the same passes over the data it is behind."""
    record = results.runs[run]
    twin = record.full_batch_twin
    assert twin is not None and twin.final_loss is not None and record.final_loss is not None
    args = {"run": run}
    floor = results.ols.loss
    summary = results.data.summary
    margin = theory.ROUNDING * (summary.y_mean**2 + summary.y_std**2)  # rounding is no rank
    better = twin.final_loss < record.final_loss - margin

    def above(loss: float) -> str:
        from reportgen.formatting import fmt_above

        return f"{fmt_above(loss / floor - 1.0)} J*" if record.gap_to_ols is not None \
            else f"at {fmt_num(loss)}"

    text = (f"That full-batch twin ends {above(twin.final_loss)} after the same "
            f"{fmt_count(twin.steps, 'update')}, {'closer than' if better else 'no closer than'}"
            f" this run, but it reads every point {twin.steps} times against {record.epochs} "
            f"here")
    if twin.loss_after_epochs is not None:
        behind = twin.loss_after_epochs > record.final_loss
        passes = fmt_count(record.epochs, "pass", "passes")
        text += (f"; after the same {passes} over the data it is "
                 f"{'still' if behind else 'already'} {above(twin.loss_after_epochs)}")
    return Claim("twin_compare", args, better, text)


@claim(runs_where(lambda _r, run: run.optimizer in ("momentum", "nesterov")
                  and run.observed_rate is not None and run.predicted_rate is not None))
def observed_vs_predicted(results: Results, run: int) -> Claim:
    """The momentum run's slowest component shrank at the predicted spectral radius."""
    record = results.runs[run]
    assert record.observed_rate is not None and record.predicted_rate is not None
    args = {"run": run}
    observed, predicted = record.observed_rate, record.predicted_rate
    said = (f"Measured over the run, the slowest component of the error shrank by "
            f"{fmt_num(observed)} per step")
    if results.diagnostics.eigenvalues is None:
        return Claim("observed_vs_predicted", args, None, said)
    if abs(observed - predicted) <= SAME * max(predicted, 1e-300):
        return Claim("observed_vs_predicted", args, True, f"{said}, as predicted")
    relation = "slower" if observed > predicted else "faster"
    return Claim("observed_vs_predicted", args, False,
                 f"{said}, {relation} than predicted: the spectral radius describes the long "
                 f"run, while a finite run’s measured factor also depends on where its "
                 f"oscillating error happens to stand at the last step")


def _last_moves(record: Run) -> np.ndarray:
    """The largest coordinate move of each of the run's last LAST_STEPS steps."""
    thetas = np.asarray(record.thetas, dtype=np.float64)
    window = thetas[-(min(LAST_STEPS, record.steps) + 1):]
    return np.max(np.abs(np.diff(window, axis=0)), axis=1)


@claim(runs_where(lambda _r, run: run.optimizer in ("adam", "rmsprop") and not run.diverged
                  and run.steps >= 2))
def adaptive_step_size(results: Results, run: int) -> Claim:
    """In the last steps the largest coordinate move stays at least half of eta."""
    record = results.runs[run]
    args = {"run": run}
    moves = _last_moves(record)
    rate = record.learning_rate
    close = bool(np.min(moves) >= 0.5 * rate)
    count = len(moves)
    span = f"{fmt_num(float(np.min(moves)))} to {fmt_num(float(np.max(moves)))}"
    shares = f"{fmt_pct(float(np.min(moves)) / rate)} to {fmt_pct(float(np.max(moves)) / rate)}"
    text = (f"In its last {fmt_count(count, 'step')} its largest coordinate move per step was "
            f"{span}, {shares} of η = {fmt_rate(rate)}")
    ratio = "m̂/√ŝ" if record.optimizer == "adam" else "g/√s"
    text += (": its steps stay about η in size" if close else
             f": its steps fall well below η ({ratio} is small once recent gradients are "
             f"small, or change sign, next to the larger ones s still remembers)")
    return Claim("adaptive_step_size", args, close, text)


@claim(runs_where(lambda _r, run: run.optimizer in ("adam", "rmsprop") and not run.diverged
                  and run.steps >= 2))
def adaptive_steps_shrink(results: Results, run: int) -> Claim:
    """The last step's largest coordinate move is smaller than the first of the window's."""
    record = results.runs[run]
    moves = _last_moves(record)
    shrink = bool(moves[-1] < moves[0])
    text = (f"over those steps the moves shrank from {fmt_num(float(moves[0]))} to "
            f"{fmt_num(float(moves[-1]))}" if shrink else
            f"over those steps the moves did not shrink ({fmt_num(float(moves[0]))}, then "
            f"{fmt_num(float(moves[-1]))})")
    return Claim("adaptive_steps_shrink", {"run": run}, shrink, text)


@claim(runs_where(lambda results, run: is_full_gd(results, run)
                  and results.diagnostics.optimal_lr is not None
                  and abs(run.learning_rate / results.diagnostics.optimal_lr - 1)
                  < NEAR_OPTIMAL))
def near_optimal(results: Results, run: int) -> Claim:
    """The run's rate is within NEAR_OPTIMAL of 2/(λ_min + λ_max)."""
    record = results.runs[run]
    best = results.diagnostics.optimal_lr
    assert best is not None
    offset = record.learning_rate / best - 1.0
    where = "above" if offset > 0 else "below"
    text = (f"{fmt_pct(abs(offset))} {where} the rate with the best worst case, "
            f"2/(λ_min + λ_max) = {fmt_num(best)}") if offset != 0 else \
        f"the rate with the best worst case, 2/(λ_min + λ_max) = {fmt_num(best)}"
    return Claim("near_optimal", {"run": run}, True, text)


@claim(runs_where(lambda results, run: run.optimizer == "momentum"
                  and run is next(r for r in results.runs if r.optimizer == "momentum")))
def polyak_from_start(results: Results, run: int) -> Claim:
    """From the run's start, the heavy ball at Polyak's settings needs no more steps to
    bring the distance to theta* below 1% than the asymptotic rate says."""
    record = results.runs[run]
    args = {"run": run}
    eigenvalues = results.diagnostics.eigenvalues
    star = optimum(results)
    if eigenvalues is None or star is None:
        return Claim("polyak_from_start", args, None,
                     "Polyak’s choice of η and β for a quadratic makes the spectral radius as "
                     "small as momentum can: (√κ − 1)/(√κ + 1) per step, against (κ − 1)/(κ + 1)"
                     " for gradient descent at its best rate")
    low, high = eigenvalues
    lr, beta, factor = theory.heavy_ball_optimal(low, high)
    kappa = high / low if low > 0 else math.inf
    gd = theory.balanced_factor(kappa)
    asymptotic = theory.steps_to_fraction(factor, CONVERGED_SHARE)
    gd_steps = theory.steps_to_fraction(gd, CONVERGED_SHARE)
    needed = theory.heavy_ball_steps(np.asarray(results.diagnostics.hessian),
                                     record.theta_init - star, lr, beta, CONVERGED_SHARE)
    text = (f"Polyak’s choice for a quadratic, η = {fmt_num(lr)} and β = {fmt_num(beta)}, makes "
            f"the spectral radius as small as momentum can: (√κ − 1)/(√κ + 1) = "
            f"{fmt_num(factor)} per step, against (κ − 1)/(κ + 1) = {fmt_num(gd)} for gradient "
            f"descent at its best rate")
    if asymptotic is not None and gd_steps is not None:
        text += (f"; in the long run that is about {fmt_count(asymptotic, 'step')} to shrink an "
                 f"error to 1%, against {gd_steps}")
    if needed is None:
        return Claim("polyak_from_start", args, None, text)
    fits = asymptotic is not None and needed <= asymptotic
    text += (f". That rate is asymptotic: from this run’s start, the heavy ball at Polyak’s "
             f"settings needs {fmt_count(needed, 'step')} to bring its distance to θ* below 1% "
             f"of the start")
    return Claim("polyak_from_start", args, fits, text)
