"""Claims that compare: rates against the bound, the sweep, the runs, the tuned methods.

A ranking ranks only what was tuned alike: runs of one update rule from one start for one
number of steps (they differ only in their settings), or, for a comparison of rules,
each rule at its own best setting from the declared tuning sweep (``numerics.tuning``).
Two final losses tie within ``theory.tie_tolerance``: 1e-9 x J*, or rounding where that is
larger (data on a line, J* itself rounding).
"""

from __future__ import annotations

import math

import numpy as np

from reportgen import theory
from reportgen.claims._core import Args, Claim, claim, name_of, withheld_words
from reportgen.formatting import fmt_above, fmt_count, fmt_num, fmt_rate, superscript
from reportgen.optimizers import title
from reportgen.store.results import Results, Run, Tuned
from reportgen.theory import DIVERGENCE_FACTOR, TIE

#: "Converges slowly" from this per-step factor on.
SLOWLY = 0.95


def _mean_square_y(results: Results) -> float:
    summary = results.data.summary
    return summary.y_mean**2 + summary.y_std**2


def _tolerance(results: Results) -> float:
    return theory.tie_tolerance(results.ols.loss, _mean_square_y(results))


def tie_words(results: Results) -> str:
    """'10⁻⁹ J*' (or 'rounding'): how close two final losses are when they tie."""
    if TIE * max(results.ols.loss, 0.0) >= _tolerance(results):
        return f"10{superscript(round(math.log10(TIE)))} J*"
    return "rounding"


def _above(results: Results, loss: float) -> str:
    floor = results.ols.loss
    return f"{fmt_above(loss / floor - 1.0)} J*" if floor > 0 else f"at {fmt_num(loss)}"


# ---------------------------------------------------------------- rates and the sweep


def _gd_rates(results: Results) -> list[Args]:
    rates = sorted({run.learning_rate for run in results.runs
                    if run.optimizer == "gd" and run.full_batch})
    return [{"rate": rate} for rate in rates]


@claim(_gd_rates)
def rate_verdict(results: Results, rate: float) -> Claim:
    """Full-batch GD at this rate converges: its larger factor max|1 - eta λ| is below 1."""
    args = {"rate": rate}
    eigenvalues = results.diagnostics.eigenvalues
    if eigenvalues is None:
        return Claim("rate_verdict", args, None, "n/a")
    factor = theory.gd_rate(rate, eigenvalues)
    if factor < 1:
        return Claim("rate_verdict", args, True,
                     "converges slowly" if factor > SLOWLY else "converges")
    return Claim("rate_verdict", args, False,
                 "diverges" if factor > 1 else "neither (factor exactly 1)")


def _has_sweep(results: Results) -> list[Args]:
    return [{}] if results.sweep is not None else []


def _sweep_outcomes(results: Results) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sweep = results.sweep
    assert sweep is not None
    rates = np.asarray(sweep.learning_rates, dtype=np.float64)
    finals = np.asarray(sweep.final_losses, dtype=np.float64)
    diverged = np.array(sweep.diverged, dtype=bool) | ~np.isfinite(finals)
    return rates, finals, diverged


@claim(_has_sweep)
def sweep_best(results: Results) -> Claim:
    """Two or more rates of the sweep tie for the lowest final loss (within TIE x J*)."""
    rates, finals, diverged = _sweep_outcomes(results)
    ok = ~diverged
    if not ok.any():
        return Claim("sweep_best", {}, False, "every rate of the sweep diverged", kind="none")
    lowest = float(np.min(finals[ok]))
    tied = ok & (finals <= lowest + _tolerance(results))
    count = int(tied.sum())
    if count == 1:
        best = float(rates[tied][0])
        return Claim("sweep_best", {}, False,
                     f"the lowest final loss, {fmt_num(lowest)}, came at η = {fmt_num(best)}, "
                     f"ahead of every other rate by more than {tie_words(results)}", kind="one")
    at_floor = lowest - results.ols.loss <= _tolerance(results)
    text = (f"{count} rates, between {fmt_num(float(rates[tied].min()))} and "
            f"{fmt_num(float(rates[tied].max()))}, end within {tie_words(results)} of the lowest "
            f"final loss, {fmt_num(lowest)}"
            + (", which is J* itself to that precision" if at_floor else "")
            + ": they tie, so no single rate of the sweep is best")
    return Claim("sweep_best", {}, True, text, kind="tie")


@claim(_has_sweep)
def sweep_bound(results: Results) -> Claim:
    """The sweep confirms the bound: no rate below 2/λ_max diverged, every rate above it did."""
    sweep = results.sweep
    assert sweep is not None
    rates, _, diverged = _sweep_outcomes(results)
    bound = results.diagnostics.max_stable_lr
    count = int(diverged.sum())
    steps = fmt_count(sweep.epochs, "step")
    limit = fmt_num(DIVERGENCE_FACTOR)
    if count:
        first = float(rates[diverged].min())
        contiguous = bool(np.all(diverged[rates >= first]))
        said = (f"every rate from {fmt_num(first)} up ({count} of them) diverged" if contiguous
                else f"{count} rates diverged, the smallest at {fmt_num(first)}")
    else:
        first, contiguous = math.inf, True
        said = "none of the rates diverged"
    if bound is None:
        return Claim("sweep_bound", {}, None,
                     f"{said}; compare with 2/λ_max, "
                     f"{withheld_words(results, 'diagnostics.max_stable_lr')}")
    below = rates < bound
    none_below = not bool(np.any(diverged & below))
    all_above = bool(np.all(diverged[~below]))
    holds = none_below and all_above
    text = said
    if count:
        text += (f", and none below 2/λ_max = {fmt_num(bound)} did" if none_below else
                 f", {int(np.sum(diverged & below))} of them below 2/λ_max = {fmt_num(bound)}")
    elif not (~below).any():
        text += f": all lie below 2/λ_max = {fmt_num(bound)}"
    slow = ~below & ~diverged
    if slow.any():
        text += (f"; the {fmt_count(int(slow.sum()), 'rate')} above 2/λ_max that did not, up to "
                 f"{fmt_num(float(rates[slow].max()))}, grow too slowly to pass {limit} times "
                 f"their starting loss within {steps}")
    return Claim("sweep_bound", {}, holds, text)


# ---------------------------------------------------------------- the runs compared


def _same(a: Run, b: Run) -> bool:
    return (np.array_equal(a.theta_init, b.theta_init) and a.steps == b.steps
            and a.full_batch == b.full_batch)


def at_tuned_setting(results: Results, index: int) -> bool:
    """Whether run ``index`` is at its rule's best setting from the tuning sweep."""
    tuning = results.tuning
    run = results.runs[index]
    if tuning is None or not run.full_batch or run.steps != tuning.steps \
            or not np.array_equal(run.theta_init, tuning.init):
        return False
    tuned = tuning.method(run.optimizer)
    if tuned is None or tuned.learning_rate is None:
        return False
    momentum = results.config.runs[index].momentum
    return run.learning_rate == tuned.learning_rate and (
        tuned.momentum is None or momentum == tuned.momentum)


def ranked_runs(results: Results) -> tuple[list[int], str]:
    """The runs a ranking may compare, and on what basis: ``tuned`` (each at its rule's
    tuned setting), ``same-rule`` (one rule, start and step count), or why none:
    ``single``, ``different-starts``, ``not-tuned-alike``."""
    runs = results.runs
    if len(runs) < 2:
        return [], "single"
    if results.tuning is not None:
        tuned = [i for i in range(len(runs)) if at_tuned_setting(results, i)]
        if len(tuned) >= 2:
            return tuned, "tuned"
    groups: list[list[int]] = []
    for index, run in enumerate(runs):
        for group in groups:
            first = runs[group[0]]
            if _same(first, run) and first.optimizer == run.optimizer:
                group.append(index)
                break
        else:
            groups.append([index])
    largest = max(groups, key=len)
    if len(largest) >= 2:
        return largest, "same-rule"
    starts = {tuple(run.theta_init.tolist()) for run in runs}
    return [], "different-starts" if len(starts) > 1 else "not-tuned-alike"


@claim()
def closest_run(results: Results) -> Claim:
    """One run ends with the lowest final loss of those ranked (no tie)."""
    ranked, basis = ranked_runs(results)
    if not ranked:
        random = all(spec.init == "random" for spec in results.config.runs)
        text = {
            "single": "",
            "different-starts": "the runs started from different points"
                                + (" (each draws its own random start, as the notebook does)"
                                   if random else "")
                                + ", so their final losses are not a race",
            "not-tuned-alike": "the runs use different update rules at settings that were not "
                               "tuned alike, so their final losses are not ranked",
        }[basis]
        return Claim("closest_run", {}, False, text, kind=basis)
    finals = {i: results.runs[i].final_loss for i in ranked}
    losses = {i: (v if v is not None and math.isfinite(v) else math.inf)
              for i, v in finals.items()}
    lowest = min(losses.values())
    tied = [i for i in ranked if losses[i] <= lowest + _tolerance(results)]
    how = ("Each at its own tuned setting, "
           if basis == "tuned" else
           "These runs share a start, a number of steps and an update rule, so their final "
           "losses compare directly: ")
    if math.isinf(lowest):
        return Claim("closest_run", {}, False, how + "none of them ended with a finite loss",
                     kind=basis)
    if len(tied) == 1:
        run = results.runs[tied[0]]
        text = (f"{how}{name_of(run)} (η = {fmt_rate(run.learning_rate)}) ended closest to J*, "
                f"{_above(results, lowest)} after {fmt_count(run.steps, 'step')}")
        return Claim("closest_run", {}, True, text, kind=basis)
    names = ", ".join(name_of(results.runs[i]) for i in tied[:-1]) + \
        f" and {name_of(results.runs[tied[-1]])}"
    return Claim("closest_run", {}, False,
                 f"{how}{names} tie for the lowest final loss (within {tie_words(results)})",
                 kind=basis)


@claim()
def same_start(results: Results) -> Claim:
    """Every run starts from the same point."""
    starts = {tuple(run.theta_init.tolist()) for run in results.runs}
    same = len(starts) == 1
    return Claim("same_start", {}, same,
                 "all runs start from the same point" if same else
                 "from different starts")


# ---------------------------------------------------------------- the tuning sweep


def _tuned_methods(results: Results) -> list[Args]:
    tuning = results.tuning
    return [] if tuning is None else [{"method": i} for i in range(len(tuning.methods))]


def setting_words(tuned: Tuned) -> str:
    """'η = 0.419' or 'η = 0.153, β = 0.6'."""
    words = f"η = {fmt_rate(tuned.learning_rate)}"
    return words + (f", β = {fmt_rate(tuned.momentum)}" if tuned.momentum is not None else "")


@claim(_tuned_methods)
def tuned_setting(results: Results, method: int) -> Claim:
    """Some setting of the rule's grid converged (did not diverge); the text names the best."""
    tuning = results.tuning
    assert tuning is not None
    tuned = tuning.methods[method]
    args = {"method": method}
    settings = tuned.final_losses.size
    name = title(tuned.optimizer)
    if tuned.learning_rate is None or tuned.final_loss is None:
        return Claim("tuned_setting", args, False,
                     f"{name}: every one of its {settings} settings diverged", "none")
    ties = ("" if tuned.ties <= 1 else
            f"; {tuned.ties} settings tie with it (within {tie_words(results)}), and the smallest "
            f"rate among them is taken")
    text = (f"{name}: of {settings} settings the best is {setting_words(tuned)}, ending at "
            f"J − J* = {fmt_num(tuned.final_loss - results.ols.loss)}{ties}")
    return Claim("tuned_setting", args, True, text, setting_words(tuned))


@claim(lambda results: [{}] if results.tuning is not None else [])
def tuned_ranking(results: Results) -> Claim:
    """One tuned rule ends strictly lowest (no tie)."""
    tuning = results.tuning
    assert tuning is not None
    done = sorted((m for m in tuning.methods if m.final_loss is not None),
                  key=lambda m: m.final_loss)  # type: ignore[arg-type, return-value]
    if not done:
        return Claim("tuned_ranking", {}, False, "no rule converged at any of its settings")
    tolerance = _tolerance(results)
    groups: list[list[Tuned]] = []
    for tuned in done:
        assert tuned.final_loss is not None
        if groups and tuned.final_loss <= groups[-1][0].final_loss + tolerance:  # type: ignore[operator]
            groups[-1].append(tuned)
        else:
            groups.append([tuned])

    def named(group: list[Tuned]) -> str:
        parts = [f"{title(m.optimizer)} at {setting_words(m)}" for m in group]
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]

    def loss(group: list[Tuned]) -> str:
        excess = group[0].final_loss - results.ols.loss  # type: ignore[operator]
        return f"J − J* = {fmt_num(excess)}"

    first = groups[0]
    lead = (f"{named(first)} ended lowest, {loss(first)}" if len(first) == 1 else
            f"{named(first)} tie for the lowest final loss (within {tie_words(results)}), "
            f"{loss(first)}")
    rest = [f"{named(g)}{' (tied)' if len(g) > 1 else ''}, {loss(g)}" for g in groups[1:]]
    text = lead + ("; then " + "; ".join(rest) if rest else "")
    failed = [title(m.optimizer) for m in tuning.methods if m.final_loss is None]
    if failed:
        text += "; " + ", ".join(failed) + " diverged at every setting"
    return Claim("tuned_ranking", {}, len(first) == 1, text)


def _compared_runs(results: Results) -> list[Args]:
    """The runs the tuning sweep speaks for: full batch, from its start, for its steps, of
    a rule it tuned."""
    tuning = results.tuning
    if tuning is None:
        return []
    return [{"run": i} for i, run in enumerate(results.runs)
            if tuning.method(run.optimizer) is not None and run.full_batch
            and run.steps == tuning.steps and np.array_equal(run.theta_init, tuning.init)]


@claim(_compared_runs)
def run_is_tuned(results: Results, run: int) -> Claim:
    """The run is at its rule's best setting from the tuning sweep."""
    tuning = results.tuning
    assert tuning is not None
    tuned = tuning.method(results.runs[run].optimizer)
    assert tuned is not None
    args = {"run": run}
    if at_tuned_setting(results, run):
        return Claim("run_is_tuned", args, True,
                     "these are the rule’s best settings from the tuning sweep", "tuned")
    if tuned.learning_rate is None:
        return Claim("run_is_tuned", args, False,
                     "the tuning sweep found no setting of this rule that did not diverge",
                     "not tuned")
    return Claim("run_is_tuned", args, False,
                 f"these are not the rule’s best settings from the tuning sweep "
                 f"({setting_words(tuned)})", "not tuned")
