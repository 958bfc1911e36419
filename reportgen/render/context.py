"""The view of the results that templates read: the results as-is plus derived numbers.

Everything a template may use is built here from the plain results (and the manifest);
formulas come from ``reportgen.theory``, optimizer names from ``reportgen.optimizers``.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable
from typing import Any

from markupsafe import Markup

from reportgen import theory
from reportgen.optimizers import title as optimizer_title
from reportgen.render import mathtex
from reportgen.render.figures import FigureInfo, run_style


def _distance(a: Iterable[Any] | None, b: Iterable[float]) -> float | None:
    if a is None:
        return None
    pa = list(a)
    if any(v is None for v in pa):
        return None
    return math.dist([float(v) for v in pa], list(b))


def _power(base: float, exponent: int) -> float:
    """``base ** exponent``, infinite instead of an OverflowError."""
    try:
        return math.pow(base, exponent)
    except OverflowError:
        return math.inf


def _run_view(index: int, run: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    diag = results["diagnostics"]
    lmin, lmax = (float(v) for v in diag["hessian_eigenvalues"])
    lr = float(run["learning_rate"])
    star = [float(v) for v in results["ols"]["theta"]]
    steps = int(run["steps"])
    slow = float(theory.gd_factor(lr, lmin))
    fast = float(theory.gd_factor(lr, lmax))
    losses = run["losses"]
    finite = [v for v in losses if v is not None]
    rises = sum(1 for a, b in itertools.pairwise(losses)
                if a is not None and b is not None and b > a)
    d0 = _distance(run["theta_init"], star)
    d1 = _distance(run["final_theta"], star)
    n = int(results["data"]["n"])
    batch = int(run["batch_size"])
    is_gd = run["optimizer"] == "gd"
    return {
        **run,
        "index": index,
        "number": index + 1,
        "anchor": f"run-{index + 1}",
        "figure": f"fits-{index + 1}",
        "style": run_style(index),
        "optimizer_name": optimizer_title(run["optimizer"]),
        "is_gd": is_gd,
        "is_minibatch": batch < n,
        "is_sgd": batch == 1,
        "batches_per_epoch": int(run.get("steps_per_epoch") or math.ceil(n / batch)),
        "last_batch": n - batch * (math.ceil(n / batch) - 1),
        "initial_loss": losses[0] if losses else None,
        "min_loss": min(finite) if finite else None,
        "loss_rises": rises,
        "slow_factor": slow,
        "fast_factor": fast,
        "slow_left": _power(slow, steps),
        "fast_left": _power(fast, steps),
        "above_bound": lr >= float(diag["max_stable_lr"]),
        "fast_steps_to_double": (math.log(2) / math.log(fast)) if fast > 1 else None,
        "init_distance": d0,
        "final_distance": d1,
        "distance_left": (d1 / d0) if d0 and d1 is not None else None,
        "steps_to_1pct": (math.ceil(math.log(0.01) / math.log(slow)) if 0 < slow < 1 else None),
        "converged_loss": run["gap_to_ols"] is not None and run["gap_to_ols"] < 1e-3,
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


def _sweep_summary(sweep: dict[str, Any] | None) -> dict[str, Any]:
    summary: dict[str, Any] = {"best_rate": None, "best_loss": None, "first_diverged": None,
                               "diverged": 0}
    if not sweep:
        return summary
    rows = list(zip(sweep["learning_rates"], sweep["final_losses"], sweep["diverged"],
                    strict=False))
    ok = [(loss, rate) for rate, loss, div in rows if loss is not None and not div]
    if ok:
        summary["best_loss"], summary["best_rate"] = min(ok)
    div_rates = sorted(rate for rate, _, div in rows if div)
    summary["diverged"] = len(div_rates)
    summary["first_diverged"] = div_rates[0] if div_rates else None
    return summary


def _equations(names: Iterable[str]) -> dict[str, mathtex.Equation]:
    return {name: mathtex.equation(name) for name in names}


def build_context(results: dict[str, Any], manifest: dict[str, Any] | None,
                  figures: dict[str, FigureInfo]) -> dict[str, Any]:
    """Everything the templates may read: the results as-is plus derived numbers."""
    config = results["config"]
    runs = [_run_view(i, r, results) for i, r in enumerate(results["runs"])]
    used = sorted({r["optimizer"] for r in runs})
    diag = results["diagnostics"]
    lmin, lmax = (float(v) for v in diag["hessian_eigenvalues"])
    bound = float(diag["max_stable_lr"])
    gd_full = [r for r in runs if r["is_gd"] and r["full_batch"]]
    eq_names = ["model", "loss", "gradient", "hessian", "gd", "minibatch", "bound",
                "contraction", *(o for o in used if o != "gd")]
    kappa = float(diag["condition_number"] if diag["condition_number"] is not None else "inf")
    example_rate = round(bound * 1.05, 2 if bound * 1.05 >= 0.1 else 3)
    example_factor = float(theory.gd_factor(example_rate, lmax))
    rate_rows = []
    for rate in sorted({float(r["learning_rate"]) for r in gd_full}):
        slow, fast = float(theory.gd_factor(rate, lmin)), float(theory.gd_factor(rate, lmax))
        rate_rows.append({"rate": rate, "slow": slow, "fast": fast, "factor": max(slow, fast)})
    finished = [r for r in runs if r["gap_to_ols"] is not None and not r["diverged"]]
    return {
        "results": results,
        "config": config,
        "manifest": manifest,
        "title": config["title"],
        "author": config.get("author") or "",
        "date": config.get("date") or "",
        "paper": config.get("paper", "a4"),
        "data": results["data"],
        "ols": results["ols"],
        "diag": diag,
        "lmin": lmin,
        "lmax": lmax,
        "surface": results["surface"],
        "sweep": results.get("sweep") or None,
        "runs": runs,
        "gd_full_runs": gd_full,
        "unstable_runs": [r for r in runs if r["diverged"] or (r["is_gd"] and r["above_bound"])],
        "rates": sorted({float(r["learning_rate"]) for r in runs}),
        "example_unstable_rate": example_rate,
        "example_unstable_factor": example_factor,
        "balanced_factor": theory.balanced_factor(kappa),
        "rate_rows": rate_rows,
        "best_run": min(finished, key=lambda r: r["gap_to_ols"]) if finished else None,
        "sweep_summary": _sweep_summary(results.get("sweep")),
        "optimizers": used,
        "figures": figures,
        "eq": _equations(eq_names),
        "provenance": _provenance(manifest, config),
        "manifest_json": _script_json(manifest),
    }


def _script_json(value: Any) -> Markup:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>`` breakout)."""
    text = json.dumps(value, sort_keys=True, indent=1, allow_nan=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return Markup(text)
