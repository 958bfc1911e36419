"""The view of the results that templates read: the results as-is, derived numbers and the
claims (``reportgen.claims``) that the prose prints.

Everything a template may use is built here from the typed results (and the manifest);
formulas come from ``reportgen.theory``, optimizer names from ``reportgen.optimizers``,
every sentence that states a fact about the numbers from ``reportgen.claims``. Templates
never compute a number themselves, and receive plain data only.

A copy may be rendered from results without some fields (``store.results.without``: a
student copy withholds what its exercises ask for). Every derived number that needs a
missing field is None here, and ``withheld`` says, per dotted path, how the prose names
a value it does not show ("which Exercise 1 asks for").
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, TypedDict, TypeVar, get_args, get_origin, get_type_hints

import numpy as np
from markupsafe import Markup

from reportgen import claims, theory
from reportgen.optimizers import OPTIMIZERS
from reportgen.optimizers import title as optimizer_title
from reportgen.render import mathtex
from reportgen.render.algorithms import ALGORITHMS, rule_of
from reportgen.render.figures import FigureInfo, run_style
from reportgen.render.policy import CONTENT_SECURITY_POLICY
from reportgen.store import results as results_module
from reportgen.store.results import OLS, Results, Run

T = TypeVar("T")

#: The claims each run's view carries (None where a claim does not apply to the run).
RUN_CLAIMS = ("run_diverged", "run_divergence", "distance_change", "loss_rises",
              "rises_compared", "bound_side", "run_converged", "distance_rate",
              "worst_case_only", "observed_factor", "minibatch_speed", "shuffle_rank",
              "noise_floor", "twin_compare", "observed_vs_predicted", "adaptive_step_size",
              "adaptive_steps_shrink", "near_optimal", "polyak_from_start", "path_shape",
              "excess_straight", "run_is_tuned")
#: The claims about the handout as a whole (None where one does not apply).
GLOBAL_CLAIMS = ("valley_shape", "valley_cause", "ols_not_truth", "grid_minimum", "centring",
                 "worst_case_bound", "closest_run", "same_start", "sweep_best", "sweep_bound",
                 "tuned_ranking")
#: The works the references list may cite, by key (``references``: those this handout uses).
REFERENCE_KEYS = ("geron", "goodfellow", "ruder", "goh", "polyak", "nesterov", "kingma",
                  "hinton")


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _distance(a: np.ndarray | None, b: np.ndarray | None) -> float | None:
    """The distance between two points of the results; None where either is missing or
    overflowed."""
    if a is None or b is None or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return None
    return float(np.linalg.norm(np.asarray(a, dtype=float) - np.asarray(b, dtype=float)))


def _claim_or_none(results: Results, name: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """The view of a claim where it applies to ``args``, else None."""
    if args not in claims.REGISTRY[name].instances(results):
        return None
    return claims.claim_view(results, name, **args)


def _shuffle_view(run: Run, floor: float) -> dict[str, Any] | None:
    """The spread of a mini-batch run's final loss over other shufflings of its batches."""
    shuffles = run.shuffles
    if shuffles is None or run.gap_to_ols is None:  # a perfect fit: no relative gap
        return None
    gaps = sorted(float(v) / floor - 1.0 for v in shuffles.final_losses if math.isfinite(v))
    if not gaps:
        return None
    return {"repeats": shuffles.repeats, "min": gaps[0], "max": gaps[-1]}


def _twin_view(run: Run) -> dict[str, Any] | None:
    """How far a mini-batch run strays from full-batch GD from its own start."""
    twin = run.full_batch_twin
    if twin is None or twin.final_loss is None:
        return None
    offset = None
    if twin.thetas is not None:
        mine, theirs = run.thetas, twin.thetas
        if mine.shape == theirs.shape and np.all(np.isfinite(mine)) and np.all(
                np.isfinite(theirs)):
            offset = float(np.max(np.linalg.norm(mine - theirs, axis=1)))
    return {"steps": twin.steps, "max_offset": offset}


def _run_view(index: int, run: Run, plain: dict[str, Any], results: Results,
              settings: dict[str, Any]) -> dict[str, Any]:
    """A run as templates read it: the run's results (``plain``) and the ``RunView`` keys."""
    eigenvalues = results.diagnostics.eigenvalues
    lr = run.learning_rate
    slow = fast = lag = None
    if eigenvalues is not None:
        slow = float(theory.gd_factor(lr, eigenvalues[0]))
        fast = float(theory.gd_factor(lr, eigenvalues[1]))
        lag = max(slow, fast)
    bound = results.diagnostics.max_stable_lr
    n = results.data.n
    batch = run.batch_size
    losses = [_finite_or_none(float(v)) for v in run.losses]
    args = {"run": index}
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
        "is_gd": run.optimizer == "gd",
        "is_minibatch": batch < n,
        "is_sgd": batch == 1,
        "batches_per_epoch": int(run.steps_per_epoch or math.ceil(n / batch)),
        "last_batch": n - batch * (math.ceil(n / batch) - 1),
        "initial_loss": losses[0] if losses else None,
        "final_distance": _distance(run.final_theta, results.ols.theta),
        "slow_factor": slow,
        "fast_factor": fast,
        "loss_factor": None if lag is None else theory.excess_loss_factor(lag),
        "above_bound": None if bound is None else lr >= bound,
        "batch_share": batch / n,
        "momentum_gain": 1.0 / (1.0 - float(settings.get("momentum", 0.0))),
        "shuffle": _shuffle_view(run, results.ols.loss),
        "twin": _twin_view(run),
        "claims": {name: _claim_or_none(results, name, args) for name in RUN_CLAIMS},
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


def _closed_form(ols: OLS, theta: Any) -> dict[str, Any] | None:
    """The normal equations with the handout's numbers: X^T X, X^T y, the inverse, theta*
    (``theta`` as the template reads it, None where withheld)."""
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


def _tuning_view(results: Results) -> dict[str, Any] | None:
    """The tuning sweep as the handout describes it: its start, steps and each rule's grid
    and best setting (a claim)."""
    tuning = results.tuning
    if tuning is None:
        return None
    methods = []
    for index, tuned in enumerate(tuning.methods):
        rates = tuned.learning_rates
        methods.append({
            "optimizer": tuned.optimizer, "name": optimizer_title(tuned.optimizer),
            "rates": len(rates), "rate_min": float(rates.min()), "rate_max": float(rates.max()),
            "momenta": None if tuned.momenta is None else [float(b) for b in tuned.momenta],
            "learning_rate": tuned.learning_rate, "momentum": tuned.momentum,
            "final_loss": tuned.final_loss, "ties": tuned.ties,
            "excess": (None if tuned.final_loss is None
                       else tuned.final_loss - results.ols.loss),
            "claim": claims.claim_view(results, "tuned_setting", method=index),
        })
    return {"steps": tuning.steps, "init": [float(v) for v in tuning.init],
            "methods": methods, "tie": claims.tie_words(results),
            "divergence_factor": theory.DIVERGENCE_FACTOR,
            "per_decade": theory.RATES_PER_DECADE}


def _withheld(results: Results) -> dict[str, str]:
    """How the prose names each optional value of the results where a copy does not hold
    it ("which Exercise 1 asks for"), by dotted path (a run's fields under ``runs.0``)."""
    return {path: claims.withheld_words(results, path)
            for path in results_module.field_paths()}


def _references(optimizers: Iterable[str], minibatch: bool) -> list[str]:
    """The works this handout cites: the textbooks always, each method's origin where the
    handout uses the method, and an overview where it goes beyond gradient descent."""
    used = set(optimizers)
    keys = ["geron", "goodfellow"]
    if minibatch or used - {"gd"}:
        keys.append("ruder")
    if used & {"momentum", "nesterov"}:
        keys.append("goh")
    for name, key in (("momentum", "polyak"), ("nesterov", "nesterov"), ("adam", "kingma"),
                      ("rmsprop", "hinton")):
        if name in used:
            keys.append(key)
    return keys


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
    diagnostics = results.diagnostics
    eigenvalues = diagnostics.eigenvalues
    lambda_min, lambda_max = eigenvalues if eigenvalues is not None else (None, None)
    bound = diagnostics.max_stable_lr
    gd_full = [r for r in runs if r["is_gd"] and r["full_batch"]]
    eq_names = ["model", "loss", "gradient", "normal", "hessian", "bound", "contraction",
                *rules, *(["adam-step"] if "adam" in rules else [])]
    kappa = diagnostics.condition_number
    example_rate = example_factor = None
    if bound is not None and lambda_max is not None:
        above = [r for r in gd_full if r["above_bound"]]
        example_rate = (float(above[0]["learning_rate"]) if above
                        else round(bound * 1.05, 2 if bound * 1.05 >= 0.1 else 3))
        example_factor = float(theory.gd_factor(example_rate, lambda_max))
    rate_rows = []
    if eigenvalues is not None:
        for rate in sorted({float(r["learning_rate"]) for r in gd_full}):
            slow = float(theory.gd_factor(rate, eigenvalues[0]))
            fast = float(theory.gd_factor(rate, eigenvalues[1]))
            rate_rows.append({"rate": rate, "slow": slow, "fast": fast,
                              "factor": max(slow, fast),
                              "verdict": claims.claim_view(results, "rate_verdict",
                                                           rate=rate)})
    summary = results.data.summary
    balanced = None if kappa is None else theory.balanced_factor(kappa)
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
        "diagnostics": plain["diagnostics"],
        "lambda_min": lambda_min,
        "lambda_max": lambda_max,
        "surface": plain["surface"],
        "sweep": plain.get("sweep") or None,
        "tuning": _tuning_view(results),
        "runs": runs,
        "sections": sections,
        "section": numbers,
        "gd_full_runs": gd_full,
        "unstable_runs": [r for r in runs if r["diverged"] or (r["is_gd"] and r["above_bound"])],
        "momentum_runs": [r for r in runs if r["family"] == "momentum"],
        "heavy_ball": next((r for r in runs if r["optimizer"] == "momentum"), None),
        "divergence_factor": theory.DIVERGENCE_FACTOR,
        "adaptive_runs": [r for r in runs if r["family"] == "adaptive"],
        "rates": sorted({float(r["learning_rate"]) for r in runs}),
        "example_unstable_rate": example_rate,
        "example_unstable_factor": example_factor,
        "balanced_factor": balanced,
        "scaling": theory.scaled_features(summary.x_mean, summary.x_std),
        "rate_rows": rate_rows,
        "claims": {name: _claim_or_none(results, name, {}) for name in GLOBAL_CLAIMS},
        "withheld": _withheld(results),
        "references": _references(used, any(r["is_minibatch"] for r in runs)),
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
    final_distance: Annotated[float | None, Doc("distance from the end to theta* (None where "
                                                 "either is missing)")]
    slow_factor: Annotated[float | None, Doc("|1 - eta lambda_min|: full-batch GD's factor "
                                              "along the shallow direction (None where the "
                                              "eigenvalues are withheld)")]
    fast_factor: Annotated[float | None, Doc("|1 - eta lambda_max|: along the steep direction")]
    loss_factor: Annotated[float | None, Doc("the excess loss's factor per step once the "
                                              "faster component is gone: the slower factor "
                                              "squared")]
    above_bound: Annotated[bool | None, Doc("eta >= 2/lambda_max (None where 2/lambda_max is "
                                             "withheld)")]
    batch_share: Annotated[float, Doc("batch size / n")]
    momentum_gain: Annotated[float, Doc("1 / (1 - beta): momentum's long-run step gain")]
    shuffle: Annotated[dict[str, Any] | None, Doc("a mini-batch run's spread over other "
                                                   "shufflings")]
    twin: Annotated[dict[str, Any] | None, Doc("a mini-batch run against full-batch GD from "
                                                "its start: steps, max_offset")]
    claims: Annotated[dict[str, dict[str, Any] | None],
                      Doc("the run's claims by name (``reportgen.claims``), None where one does "
                          "not apply; print one with the ``claim`` filter")]
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
    closed_form: Annotated[dict[str, Any] | None, Doc("the closed form worked out with the "
                                                      "data's numbers")]
    diagnostics: Annotated[dict[str, Any], Doc("results.diagnostics: Hessian, eigenvalues, "
                                               "condition number, 2/lambda_max, optimal rate")]
    lambda_min: Annotated[float | None, Doc("the Hessian's smallest eigenvalue")]
    lambda_max: Annotated[float | None, Doc("the Hessian's largest eigenvalue")]
    surface: Annotated[dict[str, Any], Doc("results.surface: axes, grid, minimum")]
    sweep: Annotated[dict[str, Any] | None, Doc("results.sweep, if the config has one")]
    tuning: Annotated[dict[str, Any] | None, Doc("the tuning sweep of a comparison of update "
                                                 "rules: steps, init, each rule's grid and "
                                                 "best setting")]
    runs: Annotated[list[RunView], Doc("every run, as a RunView")]
    sections: Annotated[list[dict[str, Any]], Doc("the numbered sections, in order")]
    section: Annotated[dict[str, int], Doc("section numbers by anchor")]
    gd_full_runs: Annotated[list[RunView], Doc("the full-batch gradient descent runs")]
    unstable_runs: Annotated[list[RunView], Doc("runs that diverged or run above 2/lambda_max")]
    momentum_runs: Annotated[list[RunView], Doc("momentum and Nesterov runs")]
    heavy_ball: Annotated[RunView | None, Doc("the first momentum run, if any")]
    divergence_factor: Annotated[float, Doc("a run diverged when it ends this many times "
                                            "above its start")]
    adaptive_runs: Annotated[list[RunView], Doc("Adam and RMSProp runs")]
    rates: Annotated[list[float], Doc("every run's learning rate, sorted")]
    example_unstable_rate: Annotated[float | None, Doc("a rate just above 2/lambda_max, for "
                                                       "the text")]
    example_unstable_factor: Annotated[float | None, Doc("its steep factor (> 1)")]
    balanced_factor: Annotated[float | None, Doc("(kappa - 1)/(kappa + 1): the factor at the "
                                                 "optimal rate")]
    scaling: Annotated[list[dict[str, Any]], Doc("condition numbers of raw, centred and "
                                                 "standardised x")]
    rate_rows: Annotated[list[dict[str, Any]], Doc("the learning-rate table's rows, each with "
                                                   "its verdict (a claim)")]
    claims: Annotated[dict[str, dict[str, Any] | None],
                      Doc("the handout's claims by name (``reportgen.claims``), None where one "
                          "does not apply; print one with the ``claim`` filter")]
    withheld: Annotated[dict[str, str], Doc("how the prose names a value a copy does not "
                                            "show, by dotted results path")]
    references: Annotated[list[str], Doc("the works this handout cites, by key")]
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
