"""The learning rate: per-step error factors against the rate, and the rate sweep."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from reportgen import theory
from reportgen.optimizers import in_family
from reportgen.optimizers import title as optimizer_title
from reportgen.render.figures.reading import as_array
from reportgen.render.figures.style import (
    MIN_FONT_PT,
    OLS_COLOUR,
    RUN_COLOURS,
    TEXT_WIDTH_IN,
    Drawn,
    plain_log_axis,
    run_style,
)
from reportgen.render.format import fmt_num, fmt_rate
from reportgen.store.results import Diagnostics, Results, Run


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _momentum_curves(results: Results) -> list[tuple[int, Run, float]]:
    """(run index, run, momentum) of the first run of each momentum rule and beta."""
    seen: set[tuple[str, float]] = set()
    curves = []
    for i, run in enumerate(results.runs):
        if run.optimizer not in in_family("momentum"):
            continue
        beta = float(results.config.runs[i].momentum)
        if (run.optimizer, beta) not in seen:
            seen.add((run.optimizer, beta))
            curves.append((i, run, beta))
    return curves


def _rates_of(diag: Diagnostics) -> tuple[float, float, float, float]:
    """(lambda_min, lambda_max, 2/L, the optimal rate), which these figures draw."""
    if diag.eigenvalues is None or diag.max_stable_lr is None or diag.optimal_lr is None:
        raise ValueError("these results do not hold the Hessian's eigenvalues and the rates "
                         "that follow from them, which the figure needs")
    return (*diag.eigenvalues, diag.max_stable_lr, diag.optimal_lr)


def draw_rates(results: Results) -> Drawn:
    """Per-step error factors against the learning rate: gradient descent's |1 - eta l| and
    each momentum rule's own spectral radius; 2/L and the optimal rate marked."""
    lmin, lmax, bound, best = _rates_of(results.diagnostics)
    gd_runs = [(i, r) for i, r in enumerate(results.runs) if r.optimizer == "gd"]
    momentum = _momentum_curves(results)
    rates = [r.learning_rate for _, r in gd_runs] + [r.learning_rate for _, r, _ in momentum]
    right = min(max(1.3 * bound, 1.1 * max(rates, default=bound)), 3 * bound)
    kinks = [1 / lmax, 1 / lmin, 2 / (lmin + lmax)]
    lr = np.unique(np.array([0.0, right, *[k for k in kinks if 0 < k < right]]))
    fig = Figure(figsize=(TEXT_WIDTH_IN * 0.8, 3.2))
    ax = fig.add_subplot()
    slow, fast = theory.gd_factor(lr, lmin), theory.gd_factor(lr, lmax)
    ax.plot(lr, slow, color="#56B4E9", linestyle="--", linewidth=1.2,
            label=f"GD, slow direction |1 − ηλmin|, λmin = {fmt_num(lmin)}")
    ax.plot(lr, fast, color="#E69F00", linestyle="-.", linewidth=1.2,
            label=f"GD, fast direction |1 − ηλmax|, λmax = {fmt_num(lmax)}")
    ax.plot(lr, np.maximum(slow, fast), color="black",
            linewidth=1.8, label="GD per-step factor (the larger)")
    dense = np.linspace(0.0, right, 241)[1:]
    for i, run, beta in momentum:
        st = run_style(i)
        curve = theory.momentum_factors(dense, beta, (lmin, lmax), run.optimizer == "nesterov")
        ax.plot(dense, curve, color=st["color"], linestyle=st["linestyle"], linewidth=1.3,
                label=f"{_capital(optimizer_title(run.optimizer))}, β = {beta:g}: own factor")
    ax.axhline(1.0, color="#777", linewidth=0.8)
    ax.axvline(bound, color="#D55E00", linewidth=1.2, linestyle=(0, (4, 2)))
    ax.axvline(best, color="#009E73", linewidth=1.2, linestyle=(0, (1, 1.5)))
    # rotated labels hanging from the top, beside (not on) their lines
    for x, text, colour, dx, side in ((bound, f"2/L = {fmt_num(bound)}", "#D55E00", 9, "top"),
                                      (best, f"optimal {fmt_num(best)}", "#009E73", -2,
                                       "bottom")):
        ax.annotate(text, (x, 0.98), xycoords=ax.get_xaxis_transform(), xytext=(dx, 0),
                    textcoords="offset points", color=colour, fontsize=MIN_FONT_PT, rotation=90,
                    ha="right", va=side, rotation_mode="anchor")
    marks: list[tuple[int, float, float]] = []
    seen: set[float] = set()
    for i, run in gd_runs:
        r = run.learning_rate
        if r <= right and r not in seen:
            seen.add(r)
            marks.append((i, r, theory.gd_rate(r, (lmin, lmax))))
    for i, run, beta in momentum:
        r = run.learning_rate
        if r <= right:
            marks.append((i, r, theory.heavy_ball_rate(r, beta, (lmin, lmax),
                                                       run.optimizer == "nesterov")))
    for i, r, c in marks:
        st = run_style(i)
        ax.plot([r], [c], marker=st["marker"], color=st["color"], markersize=7,
                markeredgecolor="black", markeredgewidth=0.5, linestyle="none", zorder=5)
    for r in sorted({r for _, r, _ in marks}):  # one label per rate, clear of its neighbours
        c = min(c for _, other, c in marks if other == r)
        near = 0.12 * right
        crowded = near < r < bound and (any(0 < other - r < near for _, other, _ in marks)
                                        or bound - r < near)
        # below the curve: left of a crowded mark, right of the others
        offset = (-6, -12) if crowded else (7, -12)
        ax.annotate(f"η = {fmt_rate(r)}", (r, c), textcoords="offset points", xytext=offset,
                    ha="right" if crowded else "left", fontsize=MIN_FONT_PT)
    ax.set_xlim(0, right)
    ax.set_ylim(0, 2.0)
    ax.set_xlabel("learning rate η")
    ax.set_ylabel("error factor per step")
    fig.legend(loc="outside lower center", ncol=2, fontsize=MIN_FONT_PT)
    fig.set_layout_engine("constrained")
    adaptive = [r.name for r in results.runs if r.optimizer in in_family("adaptive")]
    others = (f" {' and '.join(adaptive)} {'has' if len(adaptive) == 1 else 'have'} no such "
              f"factor and {'is' if len(adaptive) == 1 else 'are'} not drawn." if adaptive else "")
    momentum_words = (" Momentum runs sit on their own curves, the spectral radius of the "
                      "momentum recursion." if momentum else "")
    alt = (f"Line chart of the per-step error factor of full-batch gradient descent against "
           f"the learning rate η: the slow-direction factor falls slowly from 1, the fast one "
           f"falls to 0 and rises back through 1 at 2/L = {fmt_num(bound)}; the larger of the "
           f"two is lowest at the optimal rate {fmt_num(best)}. The handout's rates are marked."
           + momentum_words + others)
    caption = (f"How the learning rate sets the speed of full-batch gradient descent (GD): along "
               f"each eigenvector of the Hessian the error is multiplied by |1 − ηλ| per "
               f"step. Below 1 the run converges; the fast direction crosses 1 at "
               f"2/L = {fmt_num(bound)}, where divergence starts; the best worst case is at "
               f"{fmt_num(best)}. Markers: the rates this handout runs." + momentum_words
               + others)
    return Drawn(fig, alt, caption)


def draw_sweep(results: Results) -> Drawn:
    """The final loss of every swept learning rate; diverged rates as crosses in a strip at
    the top (their losses are off the scale)."""
    sweep = results.sweep
    if sweep is None:
        raise ValueError("these results hold no sweep")
    _, _, bound, best = _rates_of(results.diagnostics)
    rates = np.asarray(sweep.learning_rates, dtype=float)
    finals = as_array(sweep.final_losses)
    diverged = np.asarray(sweep.diverged, dtype=bool)
    fig = Figure(figsize=(TEXT_WIDTH_IN * 0.8, 3.0))
    ax = fig.add_subplot()
    ok = np.isfinite(finals) & ~diverged
    ax.plot(rates[ok], finals[ok], color=RUN_COLOURS[0], marker="o", markersize=3.5,
            label=f"final loss after {sweep.epochs} epochs")
    floor = float(results.ols.loss)
    if diverged.any():
        strip = ax.get_xaxis_transform()  # x in data, y in axes fractions: a strip at the top
        ax.plot(rates[diverged], np.full(diverged.sum(), 0.95), transform=strip,
                linestyle="none", marker="x", color=RUN_COLOURS[1], markersize=6,
                markeredgewidth=1.6, label="diverged (final loss off the scale)", clip_on=False)
        ax.annotate("diverged", (float(rates[diverged].min()), 0.95), xycoords=strip,
                    xytext=(-6, 0), textcoords="offset points", ha="right", va="center",
                    fontsize=MIN_FONT_PT, color=RUN_COLOURS[1])
    ax.axhline(floor, color=OLS_COLOUR, linestyle=(0, (1, 1)), linewidth=1,
               label=f"OLS minimum {fmt_num(floor)}")
    ax.axvline(bound, color="#D55E00", linestyle=(0, (4, 2)), linewidth=1.2,
               label=f"2/L = {fmt_num(bound)}")
    ax.axvline(best, color="#009E73", linestyle=(0, (1, 1.5)), linewidth=1.2,
               label=f"optimal rate {fmt_num(best)}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain_log_axis(ax.xaxis)
    plain_log_axis(ax.yaxis)
    if ok.any():  # headroom for the strip of crosses above the highest finite loss
        ax.set_ylim(min(float(np.min(finals[ok])), floor) / 1.3,
                    float(np.max(finals[ok])) * (4.0 if diverged.any() else 1.5))
    ax.set_xlabel("learning rate η (log scale)")
    ax.set_ylabel("final loss (log scale)")
    fig.legend(loc="outside lower center", ncol=3, fontsize=MIN_FONT_PT)
    fig.set_layout_engine("constrained")
    n_div = int(diverged.sum())
    alt = (f"Chart of the final loss against the learning rate, both on logarithmic axes, for "
           f"{len(rates)} rates from {fmt_num(rates.min())} to {fmt_num(rates.max())}; the loss "
           f"falls as the rate grows, down to the OLS floor, until 2/L = "
           f"{fmt_num(bound)}; the {n_div} rates that diverged are drawn as "
           f"crosses in a strip along the top.")
    caption = (f"A sweep of {len(rates)} learning rates, each run for {sweep.epochs} epochs "
               f"of full-batch gradient descent: the final loss against the rate (both axes "
               f"logarithmic), with 2/L and the optimal rate marked; crosses along the top are "
               f"rates that diverged, whose final loss is off the scale.")
    return Drawn(fig, alt, caption)
