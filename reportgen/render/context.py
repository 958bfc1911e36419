"""The view of the results that templates read: the results as-is plus derived numbers.

Everything a template may use is built here from the plain results (and the manifest);
formulas come from ``reportgen.theory``, optimizer names from ``reportgen.optimizers``.
Templates never compute a number themselves: each sentence's numbers are fields here.
"""

from __future__ import annotations

import itertools
import json
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, TypedDict, TypeVar, get_args, get_origin, get_type_hints

import numpy as np
from markupsafe import Markup

from reportgen import theory
from reportgen.optimizers import OPTIMIZERS
from reportgen.optimizers import title as optimizer_title
from reportgen.render import mathtex
from reportgen.render.algorithms import ALGORITHMS, rule_of
from reportgen.render.errors import RenderError
from reportgen.render.figures import FigureInfo, run_style
from reportgen.render.policy import CONTENT_SECURITY_POLICY
from reportgen.store.results import OLS, Array, Results, Run, Sweep

T = TypeVar("T")

#: A rate within this relative distance of the optimal rate is called optimal (rounded).
NEAR_OPTIMAL = 0.01
#: A run whose error along the shallow direction is above this share has not converged.
CONVERGED_SHARE = 0.01


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _distance(a: Array | None, b: Sequence[float]) -> float | None:
    """The distance between a point of the results and ``b``; None where it overflowed."""
    if a is None or not np.all(np.isfinite(a)):
        return None
    return math.dist([float(v) for v in a], list(b))


def _power(base: float, exponent: int) -> float:
    """``base ** exponent``, infinite instead of an OverflowError."""
    try:
        return math.pow(base, exponent)
    except OverflowError:
        return math.inf


def _shuffle_view(run: Run, floor: float) -> dict[str, Any] | None:
    """The spread of a mini-batch run's final loss over other shufflings of its batches."""
    shuffles = run.shuffles
    if shuffles is None or run.gap_to_ols is None:  # a perfect fit: no relative gap
        return None
    gaps = sorted(float(v) / floor - 1.0 for v in shuffles.final_losses if math.isfinite(v))
    if not gaps:
        return None
    own = run.gap_to_ols
    return {
        "repeats": shuffles.repeats,
        "min": gaps[0],
        "median": statistics.median(gaps),
        "max": gaps[-1],
        "lower": sum(1 for g in gaps if g < own),
    }


def _twin_view(run: Run, floor: float) -> dict[str, Any] | None:
    """The mini-batch run against full-batch GD from its own start (same rule and rate)."""
    twin = run.full_batch_twin
    if twin is None or twin.final_loss is None or run.gap_to_ols is None:
        return None
    offset = None
    if twin.thetas is not None:
        mine, theirs = run.thetas, twin.thetas
        if mine.shape == theirs.shape and np.all(np.isfinite(mine)) and np.all(
                np.isfinite(theirs)):
            offset = float(np.max(np.linalg.norm(mine - theirs, axis=1)))
    after_epochs = twin.loss_after_epochs
    return {
        "steps": twin.steps,
        "gap": twin.final_loss / floor - 1.0,
        "gap_after_epochs": None if after_epochs is None else after_epochs / floor - 1.0,
        "max_offset": offset,
    }


def _lagging(slow: float, fast: float) -> dict[str, Any]:
    """The direction whose error shrinks slowest at a rate (the one that sets the pace)."""
    factor, direction = (slow, "shallow") if slow >= fast else (fast, "steep")
    return {"factor": factor, "direction": direction,
            "steps_to_1pct": theory.steps_to_fraction(factor, CONVERGED_SHARE)}


def _required(value: T | None, what: str) -> T:
    """A result this view cannot do without (a copy that withholds it needs its own view)."""
    if value is None:
        raise RenderError(f"the handout needs {what}, which these results do not hold")
    return value


def _curvature(results: Results) -> tuple[float, float]:
    """(lambda_min, lambda_max) of the Hessian; NaN in a student copy that withholds them
    (every number derived from them is then NaN, which the filters print as n/a)."""
    return results.diagnostics.eigenvalues or (math.nan, math.nan)


def _rate(value: float | None) -> float:
    """2/L or the optimal rate; NaN where a student copy withholds it."""
    return math.nan if value is None else value


def _run_view(index: int, run: Run, plain: dict[str, Any], results: Results,
              settings: dict[str, Any]) -> dict[str, Any]:
    """A run as templates read it: the run's results (``plain``) and the ``RunView`` keys."""
    diag = results.diagnostics
    lmin, lmax = _curvature(results)
    lr = run.learning_rate
    star = [float(v) for v in _required(results.ols.theta, "theta*")]
    floor = results.ols.loss
    steps = run.steps
    slow = float(theory.gd_factor(lr, lmin))
    fast = float(theory.gd_factor(lr, lmax))
    slow_left, fast_left = _power(slow, steps), _power(fast, steps)
    optimal_offset = lr / _rate(diag.optimal_lr) - 1.0
    losses = [_finite_or_none(float(v)) for v in run.losses]
    finite = [v for v in losses if v is not None]
    rises = sum(1 for a, b in itertools.pairwise(losses)
                if a is not None and b is not None and b > a)
    d0 = _distance(run.theta_init, star)
    d1 = _distance(run.final_theta, star)
    n = results.data.n
    batch = run.batch_size
    is_gd = run.optimizer == "gd"
    return {
        **plain,
        "index": index,
        "number": index + 1,
        "anchor": f"run-{index + 1}",
        "style": run_style(index),
        "optimizer_name": optimizer_title(run.optimizer),
        "family": OPTIMIZERS[run.optimizer].family,
        "settings": settings,
        "rule": rule_of(run.optimizer, batch < n),
        "is_gd": is_gd,
        "is_minibatch": batch < n,
        "is_sgd": batch == 1,
        "batches_per_epoch": int(run.steps_per_epoch or math.ceil(n / batch)),
        "last_batch": n - batch * (math.ceil(n / batch) - 1),
        "initial_loss": losses[0] if losses else None,
        "min_loss": min(finite) if finite else None,
        "loss_rises": rises,
        "slow_factor": slow,
        "fast_factor": fast,
        "loss_factor": theory.excess_loss_factor(slow),
        "slow_left": slow_left,
        "fast_left": fast_left,
        "above_bound": lr >= _rate(diag.max_stable_lr),
        "near_optimal": abs(optimal_offset) < NEAR_OPTIMAL,
        "optimal_offset": optimal_offset,
        "fast_steps_to_double": (math.log(2) / math.log(fast)) if fast > 1 else None,
        "init_distance": d0,
        "final_distance": d1,
        "distance_ratio": (d1 / d0) if d0 and d1 is not None else None,
        "distance_rate": (theory.geometric_rate(d0, d1, steps)
                          if d0 and d1 is not None else None),
        "lag": _lagging(slow, fast),
        "converged": max(slow_left, fast_left) <= CONVERGED_SHARE,
        "batch_share": batch / n,
        "momentum_gain": 1.0 / (1.0 - float(settings.get("momentum", 0.0))),
        "shuffle": _shuffle_view(run, floor),
        "twin": _twin_view(run, floor),
    }


def _provenance(manifest: dict[str, Any] | None, config: dict[str, Any]) -> list[tuple[str, str]]:
    """Small-print provenance rows from the manifest (whatever of it there is)."""
    rows: list[tuple[str, str]] = [("seed", str(config.get("seed"))),
                                   ("precision", str(config.get("precision")))]
    if not manifest:
        return rows
    if manifest.get("config_sha256"):
        rows.append(("config sha256", str(manifest["config_sha256"])))
    env = manifest.get("environment") or {}
    for key, value in sorted(env.items()):
        if key == "packages" and isinstance(value, dict):
            text = ", ".join(f"{k} {v}" for k, v in sorted(value.items()) if v)
        elif isinstance(value, dict | list):
            text = ", ".join(f"{k} {v}" for k, v in sorted(value.items())) if isinstance(
                value, dict) else ", ".join(map(str, value))
        else:
            text = str(value)
        label = key.replace("_", " ")
        if value is not None and text and label not in {k for k, _ in rows}:
            rows.append((label, text[:400]))
    return rows


def _scaling(x_mean: float, x_std: float, withheld: bool) -> list[dict[str, Any]]:
    """The feature-scaling rows; the raw row's numbers are the Hessian's own, so NaN in a
    student copy that withholds them."""
    rows: list[dict[str, Any]] = theory.scaled_features(x_mean, x_std)
    if withheld:
        rows[0] = {key: (math.nan if isinstance(value, int | float) else value)
                   for key, value in rows[0].items()}
    return rows


def _sweep_summary(sweep: Sweep | None) -> dict[str, Any]:
    summary: dict[str, Any] = {"best_rate": None, "best_loss": None, "first_diverged": None,
                               "diverged": 0}
    if sweep is None:
        return summary
    rates = [float(rate) for rate in sweep.learning_rates]
    rows = list(zip(rates, [float(v) for v in sweep.final_losses], sweep.diverged,
                    strict=False))
    ok = [(loss, rate) for rate, loss, div in rows if math.isfinite(loss) and not div]
    if ok:
        summary["best_loss"], summary["best_rate"] = min(ok)
    div_rates = sorted(rate for rate, _, div in rows if div)
    summary["diverged"] = len(div_rates)
    summary["first_diverged"] = div_rates[0] if div_rates else None
    return summary


def _closed_form(ols: OLS, theta: Any) -> dict[str, Any] | None:
    """The normal equations with the handout's numbers: X^T X, X^T y, the inverse, theta*
    (``theta`` as the template reads it)."""
    if ols.xtx is None or ols.xty is None:
        return None
    xtx = np.asarray(ols.xtx, dtype=float)
    xty = np.asarray(ols.xty, dtype=float)
    det = float(np.linalg.det(xtx))
    if not det > 0:
        return None
    inverse = np.linalg.inv(xtx)
    return {"xtx": xtx.tolist(), "xty": xty.tolist(), "det": det,
            "adjugate": [[xtx[1, 1], -xtx[0, 1]], [-xtx[1, 0], xtx[0, 0]]],
            "inverse": inverse.tolist(), "theta": theta}


def _sections(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The numbered sections in order (the contents list and every heading read these)."""
    names = [("problem", "The problem"), ("loss", "Loss, gradient and the closed form"),
             ("surface", "The loss surface"),
             *((run["anchor"], run["name"]) for run in runs),
             ("paths", "The paths compared"), ("rates", "Choosing the learning rate"),
             ("scaling", "Feature scaling: straightening the valley"), ("summary", "Summary")]
    return [{"anchor": anchor, "title": title, "number": number}
            for number, (anchor, title) in enumerate(names, start=1)]


def _rules(runs: list[dict[str, Any]]) -> None:
    """Mark the first run of each update rule (it shows the rule; later ones refer to it)."""
    first: dict[str, dict[str, Any]] = {}
    for run in runs:
        earlier = first.setdefault(run["rule"], run)
        run["rule_first"] = earlier is run
        run["rule_anchor"] = earlier["anchor"]


def build_context(results: Results, manifest: dict[str, Any] | None,
                  figures: dict[str, FigureInfo]) -> dict[str, Any]:
    """Everything the templates may read (``HandoutContext``; exercises are added by the
    HTML renderer, which renders their prompts): the results plus derived numbers.

    Templates receive plain data (lists, numbers, strings), never the typed results: a
    numpy array or a pydantic model would hand a template methods that write files.
    """
    context = _context(results, manifest, figures)
    check_keys(HandoutContext, {**context, "exercises": []}, "the template context")
    plain_keys = set(context["results"]["runs"][0])
    for run in context["runs"]:
        derived = {key: value for key, value in run.items() if key not in plain_keys}
        check_keys(RunView, derived, "a run's view")
    return context


def _context(results: Results, manifest: dict[str, Any] | None,
             figures: dict[str, FigureInfo]) -> dict[str, Any]:
    plain = results.to_dict()
    config = plain["config"]
    runs = [_run_view(i, run, run_plain, results, settings) for i, (run, run_plain, settings)
            in enumerate(zip(results.runs, plain["runs"], config["runs"], strict=True))]
    _rules(runs)
    sections = _sections(runs)
    numbers = {s["anchor"]: s["number"] for s in sections}
    for run in runs:
        run["section"] = numbers[run["anchor"]]
        run["rule_section"] = numbers[run["rule_anchor"]]
        run["figure"] = f"fits-{run['number']}" if f"fits-{run['number']}" in figures else None
    used = sorted({r["optimizer"] for r in runs})
    rules = sorted({r["rule"] for r in runs})
    diag = results.diagnostics
    lmin, lmax = _curvature(results)
    bound = _rate(diag.max_stable_lr)
    gd_full = [r for r in runs if r["is_gd"] and r["full_batch"]]
    eq_names = ["model", "loss", "gradient", "normal", "hessian", "bound", "contraction",
                *rules, *(["adam-step"] if "adam" in rules else [])]
    kappa = diag.condition_number if diag.condition_number is not None else (
        math.inf if diag.eigenvalues is not None else math.nan)
    above = [r for r in gd_full if r["above_bound"]]
    example_rate = (float(above[0]["learning_rate"]) if above
                    else round(bound * 1.05, 2 if bound * 1.05 >= 0.1 else 3))
    example_factor = float(theory.gd_factor(example_rate, lmax))
    rate_rows = []
    for rate in sorted({float(r["learning_rate"]) for r in gd_full} if math.isfinite(lmax)
                       else ()):
        slow, fast = float(theory.gd_factor(rate, lmin)), float(theory.gd_factor(rate, lmax))
        rate_rows.append({"rate": rate, "slow": slow, "fast": fast, "factor": max(slow, fast)})
    finished = [r for r in runs if r["gap_to_ols"] is not None and not r["diverged"]]
    starts = {tuple(r["theta_init"]) for r in runs}
    summary = results.data.summary
    balanced = theory.balanced_factor(kappa)
    tuned_lr, tuned_beta, tuned_factor = theory.heavy_ball_optimal(lmin, lmax)
    return {
        "results": plain,
        "config": config,
        "manifest": manifest,
        "title": config["title"],
        "author": config.get("author") or "",
        "date": config.get("date") or "",
        "paper": config["paper"],
        "data": plain["data"],
        "ols": plain["ols"],
        "closed_form": _closed_form(results.ols, plain["ols"]["theta"]),
        "diag": plain["diagnostics"],
        "lmin": lmin,
        "lmax": lmax,
        "surface": plain["surface"],
        "sweep": plain.get("sweep") or None,
        "runs": runs,
        "sections": sections,
        "section": numbers,
        "gd_full_runs": gd_full,
        "unstable_runs": [r for r in runs if r["diverged"] or (r["is_gd"] and r["above_bound"])],
        "momentum_runs": [r for r in runs if r["family"] == "momentum"],
        "heavy_ball": next((r for r in runs if r["optimizer"] == "momentum"), None),
        "divergence_factor": theory.DIVERGENCE_FACTOR,
        "adaptive_runs": [r for r in runs if r["family"] == "adaptive"],
        "same_start": len(starts) == 1,
        "rates": sorted({float(r["learning_rate"]) for r in runs}),
        "example_unstable_rate": example_rate,
        "example_unstable_factor": example_factor,
        "balanced_factor": balanced,
        "balanced_loss_factor": theory.excess_loss_factor(balanced),
        "balanced_steps": theory.steps_to_fraction(balanced, CONVERGED_SHARE),
        "tuned_momentum": {"lr": tuned_lr, "momentum": tuned_beta, "factor": tuned_factor,
                           "steps": theory.steps_to_fraction(tuned_factor, CONVERGED_SHARE)},
        "scaling": _scaling(summary.x_mean, summary.x_std, withheld=math.isnan(lmax)),
        "column_cosine": theory.column_cosine(summary.x_mean, summary.x_std),
        "rate_rows": rate_rows,
        "best_run": min(finished, key=lambda r: r["gap_to_ols"]) if finished else None,
        "sweep_summary": _sweep_summary(results.sweep),
        "optimizers": used,
        "figures": figures,
        "eq": _equations(eq_names),
        "code": {rule: ALGORITHMS[rule] for rule in rules},
        "provenance": _provenance(manifest, config),
        "manifest_json": _script_json(manifest),
        "content_security_policy": Markup(CONTENT_SECURITY_POLICY),
    }


def _equations(names: Iterable[str]) -> dict[str, mathtex.Equation]:
    return {name: mathtex.equation(name) for name in names}


def _script_json(value: Any) -> Markup:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>`` breakout)."""
    text = json.dumps(value, sort_keys=True, indent=1, allow_nan=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return Markup(text)


# ---------------------------------------------------------------------------------------
# The context's one typed definition: build_context checks what it builds against these,
# and the template reference (docs/generate.py) is generated from them.
# ---------------------------------------------------------------------------------------

Doc = str  # Annotated[T, Doc("...")]: the meaning of a context variable


class RunView(TypedDict):
    """What a template reads of each run (``runs[i]``, ``run``), besides every key of the
    run in results.json."""

    index: Annotated[int, Doc("position among the runs, from 0")]
    number: Annotated[int, Doc("position among the runs, from 1")]
    anchor: Annotated[str, Doc("the id of the run's section (``run-1``)")]
    style: Annotated[dict[str, Any], Doc("colour, line style and marker, as in every figure")]
    optimizer_name: Annotated[str, Doc("the update rule's name in prose")]
    family: Annotated[str, Doc("gradient, momentum (heavy ball, Nesterov) or adaptive (Adam, "
                               "RMSProp)")]
    settings: Annotated[dict[str, Any], Doc("the run's config table, normalised")]
    rule: Annotated[str, Doc("which update rule the section shows (gd, minibatch, momentum, ...)")]
    is_gd: Annotated[bool, Doc("plain gradient descent")]
    is_minibatch: Annotated[bool, Doc("fewer points per step than n")]
    is_sgd: Annotated[bool, Doc("one point per step")]
    batches_per_epoch: Annotated[int, Doc("update steps per pass over the data")]
    last_batch: Annotated[int, Doc("points in an epoch's last batch")]
    initial_loss: Annotated[float | None, Doc("the loss at the start")]
    min_loss: Annotated[float | None, Doc("the lowest finite loss of the run")]
    loss_rises: Annotated[int, Doc("steps at which the full-data loss rose")]
    slow_factor: Annotated[float, Doc("|1 - eta lambda_min|: full-batch GD's factor along the "
                                       "shallow direction")]
    fast_factor: Annotated[float, Doc("|1 - eta lambda_max|: along the steep direction")]
    loss_factor: Annotated[float, Doc("the excess loss's factor per step (slow_factor squared)")]
    slow_left: Annotated[float, Doc("what is left of the shallow component after all steps")]
    fast_left: Annotated[float, Doc("what is left of the steep component after all steps")]
    above_bound: Annotated[bool, Doc("eta >= 2/L")]
    near_optimal: Annotated[bool, Doc("eta within a few percent of 2/(lambda_min + lambda_max)")]
    optimal_offset: Annotated[float, Doc("eta relative to the optimal rate, minus 1")]
    fast_steps_to_double: Annotated[float | None, Doc("steps for the steep component to "
                                                       "double, above the bound")]
    init_distance: Annotated[float | None, Doc("distance from the start to theta*")]
    final_distance: Annotated[float | None, Doc("distance from the end to theta*")]
    distance_ratio: Annotated[float | None, Doc("final_distance / init_distance")]
    distance_rate: Annotated[float | None, Doc("the distance's geometric rate per step")]
    lag: Annotated[dict[str, Any], Doc("the slowest direction: its name and factor")]
    converged: Annotated[bool, Doc("every component is below 1% of its start")]
    batch_share: Annotated[float, Doc("batch size / n")]
    momentum_gain: Annotated[float, Doc("1 / (1 - momentum): momentum's long-run step gain")]
    shuffle: Annotated[dict[str, Any] | None, Doc("a mini-batch run's spread over other "
                                                   "shufflings")]
    twin: Annotated[dict[str, Any] | None, Doc("a mini-batch run against full-batch GD from "
                                                "its start")]
    rule_first: Annotated[bool, Doc("the first run of its update rule (it shows the rule)")]
    rule_anchor: Annotated[str, Doc("the section that shows this run's rule")]
    section: Annotated[int, Doc("the run's section number")]
    rule_section: Annotated[int, Doc("the number of the section that shows its rule")]
    figure: Annotated[str | None, Doc("the name of its small-multiples figure, if it has one")]


class HandoutContext(TypedDict):
    """Every variable a handout template receives."""

    results: Annotated[dict[str, Any], Doc("results.json, as computed")]
    config: Annotated[dict[str, Any], Doc("the normalised config (results.config)")]
    manifest: Annotated[dict[str, Any] | None, Doc("provenance: versions, device, hashes")]
    title: Annotated[str, Doc("the config's title")]
    author: Annotated[str, Doc("the config's author, or empty")]
    date: Annotated[str, Doc("the build date, ISO")]
    paper: Annotated[str, Doc("a4 or letter")]
    data: Annotated[dict[str, Any], Doc("results.data: n, x, y, summary")]
    ols: Annotated[dict[str, Any], Doc("results.ols: theta, loss, XtX, Xty")]
    closed_form: Annotated[dict[str, Any], Doc("the closed form worked out with the data's "
                                               "numbers")]
    diag: Annotated[dict[str, Any], Doc("results.diagnostics: Hessian, eigenvalues, "
                                        "condition number, 2/L, optimal rate")]
    lmin: Annotated[float, Doc("the Hessian's smallest eigenvalue")]
    lmax: Annotated[float, Doc("the Hessian's largest eigenvalue, L")]
    surface: Annotated[dict[str, Any], Doc("results.surface: axes, grid, minimum")]
    sweep: Annotated[dict[str, Any] | None, Doc("results.sweep, if the config has one")]
    runs: Annotated[list[RunView], Doc("every run, as a RunView")]
    sections: Annotated[list[dict[str, Any]], Doc("the numbered sections, in order")]
    section: Annotated[dict[str, int], Doc("section numbers by anchor")]
    gd_full_runs: Annotated[list[RunView], Doc("the full-batch gradient descent runs")]
    unstable_runs: Annotated[list[RunView], Doc("runs that diverged or run above 2/L")]
    momentum_runs: Annotated[list[RunView], Doc("momentum and Nesterov runs")]
    heavy_ball: Annotated[RunView | None, Doc("the first momentum run, if any")]
    divergence_factor: Annotated[float, Doc("a run diverged when it ends this many times "
                                            "above its start")]
    adaptive_runs: Annotated[list[RunView], Doc("Adam and RMSProp runs")]
    same_start: Annotated[bool, Doc("all runs start from one point")]
    rates: Annotated[list[float], Doc("every run's learning rate, sorted")]
    example_unstable_rate: Annotated[float, Doc("a rate just above 2/L, for the text")]
    example_unstable_factor: Annotated[float, Doc("its steep factor (> 1)")]
    balanced_factor: Annotated[float, Doc("(kappa - 1)/(kappa + 1): the factor at the optimal "
                                          "rate")]
    balanced_loss_factor: Annotated[float, Doc("the excess loss's factor at the optimal rate")]
    balanced_steps: Annotated[int | None, Doc("steps to 1% at the optimal rate")]
    tuned_momentum: Annotated[dict[str, Any], Doc("Polyak's tuned heavy ball: lr, momentum, "
                                                  "factor, steps")]
    scaling: Annotated[dict[str, Any], Doc("condition numbers of raw, centred and "
                                           "standardised x")]
    column_cosine: Annotated[float, Doc("the cosine between the design's columns")]
    rate_rows: Annotated[list[dict[str, Any]], Doc("the learning-rate table's rows")]
    best_run: Annotated[RunView | None, Doc("the finished run closest to L*")]
    sweep_summary: Annotated[dict[str, Any], Doc("the sweep's best rate and first diverging "
                                                 "one")]
    optimizers: Annotated[list[str], Doc("the optimizers the runs use")]
    figures: Annotated[dict[str, FigureInfo], Doc("the figures by name: svg, alt, caption, "
                                                  "number, data_uri")]
    eq: Annotated[dict[str, mathtex.Equation], Doc("the typeset equations by name")]
    code: Annotated[dict[str, str], Doc("each update rule's algorithm as Python")]
    provenance: Annotated[list[tuple[str, str]], Doc("small-print provenance rows")]
    manifest_json: Annotated[Markup, Doc("the manifest as JSON safe inside a <script>")]
    content_security_policy: Annotated[Markup, Doc("the policy the page declares first in "
                                                   "<head> (reportgen inserts it if a "
                                                   "template does not)")]
    exercises: Annotated[list[dict[str, Any]], Doc("the exercises: number, id, prompt, "
                                                   "points, tolerance (answer and solution in "
                                                   "instructor copies)")]


def documented(kind: type) -> dict[str, tuple[str, str]]:
    """``{key: (type, meaning)}`` of a context TypedDict, in its order."""
    hints = get_type_hints(kind, include_extras=True)
    found = {}
    for key, hint in hints.items():
        base, *extras = get_args(hint) if get_origin(hint) is Annotated else (hint,)
        found[key] = (_type_name(base), str(extras[0]) if extras else "")
    return found


def _type_name(hint: Any) -> str:
    text = getattr(hint, "__name__", None) if get_origin(hint) is None else None
    return text or str(hint).replace("typing.", "").replace("reportgen.render.", "")


def check_keys(kind: type, value: Mapping[str, Any], where: str) -> None:
    """The keys a template receives must be exactly the documented ones."""
    expected = set(get_type_hints(kind))
    extra, missing = set(value) - expected, expected - set(value)
    if extra or missing:
        raise AssertionError(f"{where} is not its typed definition: undocumented "
                             f"{sorted(extra)}, missing {sorted(missing)}")
