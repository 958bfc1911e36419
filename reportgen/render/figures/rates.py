"""The learning rate: per-step error factors against the rate, and the rate sweep."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from reportgen import theory
from reportgen.optimizers import in_family
from reportgen.optimizers import title as optimizer_title
from reportgen.render.figures.placement import (
    HAlign,
    Spot,
    VAlign,
    axes_box,
    fit_legend,
    line_paths,
    place_label,
    settle,
    to_points,
)
from reportgen.render.figures.reading import as_array
from reportgen.render.figures.style import (
    BOUND,
    LAMBDA_MAX,
    LAMBDA_MIN,
    LOSS_MIN,
    MIN_FONT_PT,
    OLS_COLOUR,
    RUN_COLOURS,
    TEXT_WIDTH_IN,
    Drawn,
    plain_log_axis,
    run_label,
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


def _rates_of(diag: Diagnostics) -> tuple[float, float, float, float] | None:
    """(lambda_min, lambda_max, 2/lambda_max, the optimal rate), or None in a copy that
    withholds any of them (each follows from the others in a step or two, so a figure
    that drew one would give the others away)."""
    if diag.eigenvalues is None or diag.max_stable_lr is None or diag.optimal_lr is None:
        return None
    return (*diag.eigenvalues, diag.max_stable_lr, diag.optimal_lr)


def _label_spots(right_first: bool) -> list[Spot]:
    """Places for a marker's label: beside it (right or left, below or above), then
    further out, then under or over it."""
    sides: list[tuple[int, int, HAlign, VAlign]] = [
             (1, -1, "left", "top"), (1, 1, "left", "bottom"),
             (-1, -1, "right", "top"), (-1, 1, "right", "bottom")]
    if not right_first:
        sides = sides[2:] + sides[:2]
    spots = [Spot(sx * reach, sy * lift, ha, va)
             for reach, lift in ((7, 4), (9, 12), (16, 20), (24, 30), (34, 42))
             for sx, sy, ha, va in sides]
    under_over: tuple[tuple[int, VAlign], ...] = ((-1, "top"), (1, "bottom"))
    return [*spots, *(Spot(0, sy * lift, "center", va) for lift in (9, 24, 40)
                      for sy, va in under_over)]


def draw_rates(results: Results, width: float = TEXT_WIDTH_IN * 0.8) -> Drawn:
    """Per-step error factors against the learning rate: gradient descent's |1 - eta l| and
    each momentum rule's own spectral radius; 2/lambda_max and the optimal rate marked.
    Where the eigenvalues are withheld, only which of the handout's rates converged."""
    rates_of = _rates_of(results.diagnostics)
    if rates_of is None:
        return _draw_outcomes(results, width)
    lmin, lmax, bound, best = rates_of
    gd_runs = [(i, r) for i, r in enumerate(results.runs) if r.optimizer == "gd"]
    momentum = _momentum_curves(results)
    rates = [r.learning_rate for _, r in gd_runs] + [r.learning_rate for _, r, _ in momentum]
    right = min(max(1.3 * bound, 1.1 * max(rates, default=bound)), 3 * bound)
    kinks = [1 / lmax, 1 / lmin, 2 / (lmin + lmax)]
    lr = np.unique(np.array([0.0, right, *[k for k in kinks if 0 < k < right]]))
    narrow = width < TEXT_WIDTH_IN * 0.8
    fig = Figure(figsize=(width, 3.2 if not narrow else 3.6), layout="constrained")
    ax = fig.add_subplot()
    slow, fast = theory.gd_factor(lr, lmin), theory.gd_factor(lr, lmax)
    ax.plot(lr, slow, color="#56B4E9", linestyle="--", linewidth=1.2,
            label=f"GD, slow direction |1 − η{LAMBDA_MIN}|, {LAMBDA_MIN} = {fmt_num(lmin)}")
    ax.plot(lr, fast, color="#E69F00", linestyle="-.", linewidth=1.2,
            label=f"GD, fast direction |1 − η{LAMBDA_MAX}|, {LAMBDA_MAX} = {fmt_num(lmax)}")
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
    ax.set_xlim(0, right)
    ax.set_ylim(0, 2.0)
    ax.set_xlabel("learning rate η")
    ax.set_ylabel("error factor per step")
    fit_legend(fig, 1 if narrow else 2)
    # 2/lambda_max and the optimal rate named above the axes, where no curve can cross them:
    # the smaller to the left of its tick, the larger to the right
    top = ax.secondary_xaxis("top")
    top.set_xticks([best, bound], [f"optimal η\n{fmt_num(best)}", f"{BOUND}\n{fmt_num(bound)}"],
                   fontsize=MIN_FONT_PT)
    sides: tuple[HAlign, HAlign] = ("right", "left")
    for tick, colour, side in zip(top.get_xticklabels(), ("#009E73", "#D55E00"), sides,
                                  strict=True):
        tick.set_color(colour)
        tick.set_horizontalalignment(side)
    top.tick_params(length=3, pad=1.5)
    renderer = settle(fig)
    # the rates' labels last, each where no curve crosses it (the layout is final now);
    # one set further out keeps a thin leader to its marker
    avoid = line_paths(fig, ax.get_lines())
    taken = [_marker_box(fig, ax, r, c, 7.0) for _, r, c in marks]
    inside = axes_box(ax)
    for r in sorted({r for _, r, _ in marks}):  # one label per rate
        c = min(c for _, other, c in marks if other == r)
        label = ax.annotate(f"η = {fmt_rate(r)}", (r, c), textcoords="offset points",
                            xytext=(0, 0), fontsize=MIN_FONT_PT,
                            arrowprops={"arrowstyle": "-", "color": "#555", "linewidth": 0.6,
                                        "shrinkA": 1, "shrinkB": 5})
        place_label(label, _label_spots(right_first=r < 0.8 * right), renderer, avoid, taken,
                    inside)
    adaptive = [r.name for r in results.runs if r.optimizer in in_family("adaptive")]
    others = (f" {' and '.join(adaptive)} {'has' if len(adaptive) == 1 else 'have'} no such "
              f"factor and {'is' if len(adaptive) == 1 else 'are'} not drawn." if adaptive else "")
    momentum_words = (" Momentum runs sit on their own curves, the spectral radius of the "
                      "momentum recursion (the largest size of its eigenvalues, which "
                      "scales the error per step)." if momentum else "")
    alt = ("Line chart of the per-step error factor of full-batch gradient descent against "
           "the learning rate η: the slow-direction factor falls from 1 "
           + ("and rises again" if 1 / lmin < right else "slowly")
           + f", the fast one falls to 0 at η = 1/{LAMBDA_MAX} and rises back through 1 at "
           f"{BOUND} = {fmt_num(bound)}; the larger of the two is lowest at the optimal rate "
           f"{fmt_num(best)}. The handout's rates are marked." + momentum_words + others)
    caption = (f"How the learning rate sets the speed of full-batch gradient descent (GD): along "
               f"each eigenvector of the Hessian the error is multiplied by |1 − ηλ| per "
               f"step. Below 1 the run converges; the fast direction crosses 1 at "
               f"{BOUND} = {fmt_num(bound)}, where divergence starts; the best worst case is at "
               f"{fmt_num(best)}. Markers: the rates this handout runs." + momentum_words
               + others)
    return Drawn(fig, alt, caption)


def _marker_box(fig: Figure, ax: Axes, x: float, y: float, size: float) -> Bbox:
    centre = to_points(fig, ax.transData.transform((x, y)))
    half = size / 2 + 0.5
    return Bbox.from_extents(centre[0] - half, centre[1] - half, centre[0] + half,
                             centre[1] + half)


def _draw_outcomes(results: Results, width: float) -> Drawn:
    """The learning-rate figure of a copy without the Hessian's eigenvalues: each of the
    handout's rates, and whether its run converged or diverged. The factor curves and
    the bound 2/lambda_max follow from the eigenvalues, which this copy leaves to the
    reader, so none is drawn (nor anything measured that would give them away)."""
    fig = Figure(figsize=(width, 2.0), layout="constrained")
    ax = fig.add_subplot()
    shown: set[tuple[float, bool]] = set()
    for i, run in enumerate(results.runs):
        key = (run.learning_rate, run.diverged)
        st = run_style(i)
        ax.plot([run.learning_rate], [1 if run.diverged else 0], marker=st["marker"],
                color=st["color"], markersize=7, markeredgecolor="black",
                markeredgewidth=0.5, linestyle="none", zorder=5,
                label=None if key in shown else run_label(run))
        shown.add(key)
    rates = [r.learning_rate for r in results.runs]
    ax.set_xlim(0, 1.15 * max(rates, default=1.0))
    ax.set_ylim(-0.6, 1.6)
    ax.set_yticks([0, 1], ["converged", "diverged"])
    ax.set_xlabel("learning rate η")
    fit_legend(fig, 1 if width < TEXT_WIDTH_IN * 0.8 else 2)
    diverged = [r.name for r in results.runs if r.diverged]
    alt = (f"The handout's {len(rates)} learning rates on one axis, each marked as converged or "
           f"diverged" + (f"; {' and '.join(diverged)} diverged." if diverged
                          else "; every run converged."))
    caption = (f"The learning rates this handout runs, and which runs converged. The per-step "
               f"error factors |1 − ηλ| and the bound {BOUND} follow from the Hessian’s "
               f"eigenvalues, which this copy leaves for you to compute.")
    return Drawn(fig, alt, caption)


#: A final loss within this relative distance of the OLS floor ties with it (issue 21: 18
#: rates ended within 1e-9 of J*; the lowest of them is not "the best").
TIES_WITH_FLOOR = 1e-9


def _sweep_words(rates: np.ndarray, finals: np.ndarray, diverged: np.ndarray, floor: float,
                 marked: tuple[float, float, float, float] | None) -> str:
    """What the sweep's chart shows, read from the same numbers it draws: values at named
    rates only (no "falls" or "rises", which the points between need not do)."""
    ok = np.isfinite(finals) & ~diverged
    parts = []
    if ok.any():
        r, f = rates[ok], finals[ok]
        tied = np.abs(f - floor) <= TIES_WITH_FLOOR * abs(floor)
        lowest = int(np.argmin(f))
        words = f"the final loss is {fmt_num(f[0])} at η = {fmt_num(r[0])}"
        if tied.any():
            words += (f", within 10⁻⁹ of the OLS floor {LOSS_MIN} for {int(tied.sum())} of "
                      f"the rates between η = {fmt_num(r[tied].min())} and "
                      f"{fmt_num(r[tied].max())}")
        elif lowest > 0:
            words += f", lowest ({fmt_num(f[lowest])}) at η = {fmt_num(r[lowest])}"
        if len(f) - 1 > lowest and not tied[-1]:
            words += (f" and {fmt_num(f[-1])} at η = {fmt_num(r[-1])}, the largest rate that "
                      f"converged")
        parts.append(words)
    n_div = int(diverged.sum())
    if n_div:
        first = float(rates[diverged].min())
        which = (f"from η = {fmt_num(first)} up" if diverged[rates >= first].all()
                 else "at η = " + ", ".join(fmt_num(x) for x in rates[diverged]))
        parts.append(f"the {n_div} rates {which} diverged and are drawn as crosses in a "
                     f"strip along the top")
    if marked is not None:
        parts.append(f"vertical lines mark {BOUND} = {fmt_num(marked[2])} (dashed) and the "
                     f"optimal rate {fmt_num(marked[3])} (dotted)")
    return "; ".join(parts)


def draw_sweep(results: Results, width: float = TEXT_WIDTH_IN * 0.8) -> Drawn:
    """The final loss of every swept learning rate; diverged rates as crosses in a strip at
    the top (their losses are off the scale). 2/lambda_max and the optimal rate marked,
    where the copy has them."""
    sweep = results.sweep
    if sweep is None:
        raise ValueError("these results hold no sweep")
    marked = _rates_of(results.diagnostics)
    rates = np.asarray(sweep.learning_rates, dtype=float)
    finals = as_array(sweep.final_losses)
    diverged = np.asarray(sweep.diverged, dtype=bool)
    narrow = width < TEXT_WIDTH_IN * 0.8
    fig = Figure(figsize=(width, 3.0 if not narrow else 3.4), layout="constrained")
    ax = fig.add_subplot()
    ok = np.isfinite(finals) & ~diverged
    ax.plot(rates[ok], finals[ok], color=RUN_COLOURS[0], marker="o", markersize=3.5,
            label=f"final loss after {sweep.epochs} epochs")
    floor = float(results.ols.loss)
    strip = ax.get_xaxis_transform()  # x in data, y in axes fractions: a strip at the top
    if diverged.any():
        ax.plot(rates[diverged], np.full(diverged.sum(), 0.95), transform=strip,
                linestyle="none", marker="x", color=RUN_COLOURS[1], markersize=6,
                markeredgewidth=1.6, label="diverged (final loss off the scale)", clip_on=False)
    ax.axhline(floor, color=OLS_COLOUR, linestyle=(0, (1, 1)), linewidth=1,
               label=f"OLS minimum {LOSS_MIN} = {fmt_num(floor)}")
    if marked is not None:
        _, _, bound, best = marked
        ax.axvline(bound, color="#D55E00", linestyle=(0, (4, 2)), linewidth=1.2,
                   label=f"{BOUND} = {fmt_num(bound)}")
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
    fit_legend(fig, 1 if narrow else 3)
    renderer = settle(fig)
    if diverged.any():
        label = ax.annotate("diverged", (float(rates[diverged].min()), 0.95), xycoords=strip,
                            xytext=(0, 0), textcoords="offset points", fontsize=MIN_FONT_PT,
                            color=RUN_COLOURS[1])
        spots = [Spot(-6, 0, "right", "center"), Spot(0, -7, "right", "top"),
                 Spot(-6, -12, "right", "top"), Spot(0, -7, "left", "top")]
        place_label(label, spots, renderer, line_paths(fig, ax.get_lines()), [], axes_box(ax))
    alt = (f"Chart of the final loss against the learning rate, both on logarithmic axes, for "
           f"{len(rates)} rates from {fmt_num(rates.min())} to {fmt_num(rates.max())}: "
           + _sweep_words(rates, finals, diverged, floor, marked) + ".")
    caption = (f"A sweep of {len(rates)} learning rates, each run for {sweep.epochs} epochs "
               f"of full-batch gradient descent: the final loss against the rate (both axes "
               f"logarithmic)"
               + (f", with {BOUND} and the optimal rate marked" if marked is not None else "")
               + "; crosses along the top are rates that diverged, whose final loss is off the "
                 "scale.")
    return Drawn(fig, alt, caption)
