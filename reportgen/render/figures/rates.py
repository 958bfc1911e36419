"""The learning rate: per-step error factors against the rate, and the rate sweep."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter, LogLocator, NullLocator

from reportgen import theory
from reportgen.render.figures.reading import as_array
from reportgen.render.figures.style import (
    OLS_COLOUR,
    RUN_COLOURS,
    TEXT_WIDTH_IN,
    Drawn,
    num,
    run_style,
)


def draw_rates(results: dict[str, Any]) -> Drawn:
    """Full-batch GD's per-step error factors against the learning rate, 2/L marked."""
    diag = results["diagnostics"]
    lmin, lmax = diag["hessian_eigenvalues"]
    bound, best = diag["max_stable_lr"], diag["optimal_lr"]
    rates = [float(r["learning_rate"]) for r in results["runs"]]
    right = min(max(1.3 * bound, 1.1 * max(rates)), 3 * bound)
    kinks = [1 / lmax, 1 / lmin, 2 / (lmin + lmax)]
    lr = np.unique(np.array([0.0, right, *[k for k in kinks if 0 < k < right]]))
    fig = Figure(figsize=(TEXT_WIDTH_IN * 0.8, 3.3))
    ax = fig.add_subplot()
    slow, fast = theory.gd_factor(lr, lmin), theory.gd_factor(lr, lmax)
    ax.plot(lr, slow, color="#56B4E9", linestyle="--", linewidth=1.2,
            label=f"slow direction |1 − lr·λmin|, λmin = {num(lmin, '.3f')}")  # noqa: RUF001
    ax.plot(lr, fast, color="#E69F00", linestyle="-.", linewidth=1.2,
            label=f"fast direction |1 − lr·λmax|, λmax = {num(lmax, '.3f')}")  # noqa: RUF001
    ax.plot(lr, np.maximum(slow, fast), color="black",
            linewidth=1.8, label="per-step contraction (the larger)")
    ax.axhline(1.0, color="#777", linewidth=0.8)
    ax.axvline(bound, color="#D55E00", linewidth=1.2, linestyle=(0, (4, 2)))
    ax.axvline(best, color="#009E73", linewidth=1.2, linestyle=(0, (1, 1.5)))
    # labels at the top right of their lines, where the curves never go
    # rotated labels hanging from the top, beside (not on) their lines
    marks = ((bound, f"2/L = {num(bound, '.3f')}", "#D55E00", 9, "top"),
             (best, f"optimal {num(best, '.3f')}", "#009E73", -2, "bottom"))
    for x, text, colour, dx, side in marks:
        ax.annotate(text, (x, 0.98), xycoords=ax.get_xaxis_transform(), xytext=(dx, 0),
                    textcoords="offset points", color=colour, fontsize=7, rotation=90,
                    ha="right", va=side, rotation_mode="anchor")
    seen: set[float] = set()
    for i, run in enumerate(results["runs"]):
        r = float(run["learning_rate"])
        if r > right or r in seen:
            continue
        seen.add(r)
        c = theory.gd_rate(r, (lmin, lmax))
        st = run_style(i)
        ax.plot([r], [c], marker=st["marker"], color=st["color"], markersize=7,
                markeredgecolor="black", markeredgewidth=0.5, linestyle="none", zorder=5)
        above = len(seen) % 2 == 1
        ax.annotate(f"lr {num(r, 'g')}", (r, c), textcoords="offset points",
                    xytext=(4, 5) if above else (4, -11), fontsize=7)
    ax.set_xlim(0, right)
    ax.set_ylim(0, 2.0)
    ax.set_xlabel("learning rate lr")
    ax.set_ylabel("error factor per step")
    fig.set_figheight(3.3)
    fig.legend(loc="outside lower center", ncol=2, fontsize=6.8)
    fig.set_layout_engine("constrained")
    alt = (f"Line chart of the per-step error factor of full-batch gradient descent against "
           f"the learning rate: the slow-direction factor falls slowly from 1, the fast one "
           f"falls to 0 and rises back through 1 at 2/L = {num(bound, '.3f')}; the larger of "
           f"the two is lowest at the optimal rate {num(best, '.3f')}. The handout's rates are "
           f"marked.")
    caption = (f"How the learning rate sets the speed of full-batch gradient descent: along "
               f"each eigenvector of the Hessian the error is multiplied by |1 − lr·λ| per "  # noqa: RUF001
               f"step. Below 1 the run converges; the fast direction crosses 1 at "
               f"2/L = {num(bound, '.3f')}, where divergence starts; the best worst case is at "
               f"{num(best, '.3f')}. Markers: the rates this handout runs.")
    return Drawn(fig, alt, caption)


def draw_sweep(results: dict[str, Any]) -> Drawn:
    """The final loss of every swept learning rate, diverged rates as crosses."""
    sweep = results["sweep"]
    diag = results["diagnostics"]
    rates = np.asarray(sweep["learning_rates"], dtype=float)
    finals = as_array(sweep["final_losses"])
    diverged = np.asarray(sweep["diverged"], dtype=bool)
    fig = Figure(figsize=(TEXT_WIDTH_IN * 0.8, 3.2))
    ax = fig.add_subplot()
    ok = np.isfinite(finals) & ~diverged
    ax.plot(rates[ok], finals[ok], color=RUN_COLOURS[0], marker="o", markersize=3.5,
            label=f"final loss after {sweep['epochs']} epochs")
    top = float(np.nanmax(finals[ok])) * 2 if ok.any() else 10.0
    if diverged.any():
        ax.plot(rates[diverged], np.full(diverged.sum(), top), linestyle="none", marker="x",
                color=RUN_COLOURS[1], markersize=6, markeredgewidth=1.6, label="diverged")
    ax.axhline(results["ols"]["loss"], color=OLS_COLOUR, linestyle=(0, (1, 1)), linewidth=1,
               label=f"OLS minimum {num(results['ols']['loss'], '.3f')}")
    ax.axvline(diag["max_stable_lr"], color="#D55E00", linestyle=(0, (4, 2)), linewidth=1.2,
               label=f"2/L = {num(diag['max_stable_lr'], '.3f')}")
    ax.axvline(diag["optimal_lr"], color="#009E73", linestyle=(0, (1, 1.5)), linewidth=1.2,
               label=f"optimal rate {num(diag['optimal_lr'], '.3f')}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(LogFormatter(labelOnlyBase=False))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("learning rate")
    ax.set_ylabel("final loss")
    fig.legend(loc="outside lower center", ncol=3, fontsize=6.8)
    fig.set_layout_engine("constrained")
    n_div = int(diverged.sum())
    alt = (f"Log-log chart of the final loss against the learning rate for {len(rates)} rates "
           f"from {num(rates.min(), 'g')} to {num(rates.max(), 'g')}; the loss falls as the "
           f"rate grows, down to the OLS floor, until 2/L = "
           f"{num(diag['max_stable_lr'], '.3f')}; {n_div} rates diverged and are drawn as "
           f"crosses.")
    caption = (f"A sweep of {len(rates)} learning rates, each run for {sweep['epochs']} epochs "
               f"of full-batch gradient descent: the final loss against the rate, with 2/L and "
               f"the optimal rate marked; crosses are runs that diverged.")
    return Drawn(fig, alt, caption)
