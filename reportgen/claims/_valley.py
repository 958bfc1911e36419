"""Claims about the data and the shape of the loss: the valley, the grid, the cure."""

from __future__ import annotations

import math

import numpy as np

from reportgen import theory
from reportgen.claims._core import Claim, claim, optimum, valley, withheld_words
from reportgen.formatting import fmt_num, fmt_theta
from reportgen.store.results import Results

#: A valley is "long" from this condition number on (its floor is 2x longer than wide).
LONG_VALLEY = 4.0
#: The columns of X "point in similar directions" from this cosine on (60 degrees).
SIMILAR_COLUMNS = 0.5
#: The valley is "tilted against the axes" from this cosine on (the Hessian's off-diagonal).
TILTED = 0.1


def _kappa_words(results: Results) -> str:
    kappa = results.diagnostics.condition_number
    return f"κ = {fmt_num(kappa)}" if kappa is not None else \
        f"κ, {withheld_words(results, 'diagnostics.condition_number')}"


@claim()
def valley_shape(results: Results) -> Claim:
    """A long valley (κ >= LONG_VALLEY) or a mildly stretched bowl; tilted or along the axes."""
    shape = valley(results)
    kappa = shape.high / shape.low if shape.low > 0 else math.inf
    summary = results.data.summary
    tilted = theory.column_cosine(summary.x_mean, summary.x_std) >= TILTED
    long = kappa >= LONG_VALLEY
    lie = ("tilted against the θ_0 and θ_1 axes" if tilted
           else "its floor along one of the θ axes")
    text = (f"the loss forms a long valley ({_kappa_words(results)}), {lie}" if long else
            f"the loss forms a bowl that is only mildly stretched ({_kappa_words(results)}), "
            f"{lie}")
    return Claim("valley_shape", {}, long, text, "a long valley" if long else "a round bowl")


@claim()
def valley_cause(results: Results) -> Claim:
    """Whether the columns of X, the ones and x, point in similar directions."""
    summary = results.data.summary
    cosine = theory.column_cosine(summary.x_mean, summary.x_std)
    similar = cosine >= SIMILAR_COLUMNS
    if similar:
        text = (f"The valley is stretched because the two columns of X, the ones and x, point "
                f"in similar directions: the cosine of the angle between them is "
                f"x̄/√(x̄² + s²) = {fmt_num(cosine)}")
    else:
        text = (f"The two columns of X, the ones and x, are far from parallel here: the cosine "
                f"of the angle between them is x̄/√(x̄² + s²) = {fmt_num(cosine)}, so what "
                f"stretch the valley has comes from the spread of x, not from its mean")
    return Claim("valley_cause", {}, similar, text)


@claim()
def ols_not_truth(results: Results) -> Claim:
    """The least-squares line for these points differs from the line they were drawn from."""
    star = optimum(results)
    true = np.asarray(results.config.data.theta, dtype=np.float64)
    if star is None:
        noisy = results.config.data.noise > 0
        text = ("Because of the noise, the best line for these points is in general not the "
                "true one" if noisy else "With no noise, the best line is the true one")
        return Claim("ols_not_truth", {}, None, text)
    differs = bool(np.any(np.abs(star - true) > 1e-9 * (1.0 + np.abs(true))))
    text = ("Because of the noise, the best line for these points is not the true one"
            if differs else "The points lie on the true line, so the best line for them is "
                            "the true one")
    return Claim("ols_not_truth", {}, differs, text)


@claim()
def grid_minimum(results: Results) -> Claim:
    """The grid's lowest point lies within one grid step of theta* (per axis)."""
    surface = results.surface
    star = optimum(results)
    if surface.min_loss is None or surface.argmin is None:
        return Claim("grid_minimum", {}, None, "")
    lowest = (f"The grid’s lowest value, {fmt_num(surface.min_loss)} at "
              f"{fmt_theta(surface.argmin)}")
    if star is None:
        return Claim("grid_minimum", {}, None,
                     f"{lowest}, lies near the exact minimum θ* "
                     f"({withheld_words(results, 'ols.theta')}); the grid spacing limits "
                     f"how close it can get")
    axes = (surface.theta0, surface.theta1)
    steps = [float(axis[1] - axis[0]) if len(axis) > 1 else math.inf for axis in axes]
    inside = all(float(axis[0]) <= s <= float(axis[-1]) for axis, s in zip(axes, star,
                                                                              strict=True))
    near = all(abs(float(a) - float(s)) <= step * (1 + 1e-9)
               for a, s, step in zip(surface.argmin, star, steps, strict=True))
    exact = f"the exact minimum J* = {fmt_num(results.ols.loss)} at θ* = {fmt_theta(star)}"
    if near:
        text = (f"{lowest}, lies within one grid step of {exact}; the grid spacing limits how "
                f"close it can get")
    elif not inside:
        text = f"{exact} lies outside the grid, so the grid’s lowest value, " \
               f"{fmt_num(surface.min_loss)} at {fmt_theta(surface.argmin)}, sits on its edge"
    else:
        text = f"{lowest}, lies more than one grid step from {exact}"
    return Claim("grid_minimum", {}, near, text)


@claim()
def centring(results: Results) -> Claim:
    """Centring x lowers the condition number (it cannot raise it)."""
    summary = results.data.summary
    raw, centred, _ = theory.scaled_features(summary.x_mean, summary.x_std)
    raw_kappa, centred_kappa = float(raw["condition_number"]), float(  # type: ignore[arg-type]
        centred["condition_number"])  # type: ignore[arg-type]
    cuts = raw_kappa > centred_kappa * (1 + 1e-9)
    shown = results.diagnostics.condition_number is not None
    before = f" from {fmt_num(raw_kappa)}" if shown else ""
    text = (f"Centring x cuts κ{before} to {fmt_num(centred_kappa)}" if cuts else
            f"Centring x leaves κ at {fmt_num(centred_kappa)}: the mean of x is already 0")
    return Claim("centring", {}, cuts, text)


@claim()
def worst_case_bound(results: Results) -> Claim:
    """No fixed rate has a smaller worst-case factor than (κ - 1)/(κ + 1), reached at
    2/(λ_min + λ_max)."""
    diagnostics = results.diagnostics
    kappa = diagnostics.condition_number
    if kappa is None or diagnostics.optimal_lr is None:
        return Claim("worst_case_bound", {}, None,
                     "whatever the fixed rate, the error along some direction keeps a share of "
                     "at least (κ − 1)/(κ + 1) at every step, and only η = 2/(λ_min + λ_max) "
                     "gets the worst case that low")
    factor = theory.balanced_factor(kappa)
    text = (f"whatever the fixed rate, the error along some direction keeps a share of at "
            f"least (κ − 1)/(κ + 1) = {fmt_num(factor)} at every step, and only "
            f"η = 2/(λ_min + λ_max) = {fmt_num(diagnostics.optimal_lr)} gets the worst case "
            f"that low")
    return Claim("worst_case_bound", {}, True, text)
