"""reportgen.claims: the sentences a handout asserts about its numbers, issue 21's items.

Each test here is a sentence a shipped handout got wrong before, on a small config computed
by reportgen: the claim must now say what is true. ``test_claims_properties`` checks every
claim's verdict against numpy on generated configs; this file checks the words, a copy
without optional fields, and the marks in the HTML.
"""

from __future__ import annotations

import re

import pytest
from results_fixture import make_results, optimizer_results

from reportgen import claims
from reportgen.render.figures import make_figures
from reportgen.render.format import fmt_num, fmt_theta
from reportgen.render.html import render_html
from reportgen.store import results as store
from reportgen.store.results import Results
from reportgen.store.student import without

FROM_ORIGIN = [
    {"name": "Near the optimal rate", "learning_rate": 0.45, "epochs": 40, "init": [0.0, 0.0]},
    {"name": "Above the bound", "learning_rate": 0.5, "epochs": 40, "init": [0.0, 0.0]},
]


@pytest.fixture(scope="module")
def from_origin() -> Results:
    return make_results(FROM_ORIGIN)


def text(results: Results, name: str, **args: object) -> str:
    return claims.evaluate(results, name, args).text


def test_a_diverging_loss_rises_from_the_start(from_origin: Results) -> None:
    """Not "divergence begins at step 19": the loss rises at every step; 19 is where it
    passes 10 times its start."""
    said = text(from_origin, "run_divergence", run=1)
    assert said.startswith("its loss rose at every step from the start (53.3, 60.3, 68.3, …)")
    assert "passed 10 times its starting value at step 19" in said


def test_the_best_worst_case_is_only_a_worst_case(from_origin: Results) -> None:
    """Not "no fixed rate does better on this valley": from (0, 0) a lower rate ends closer."""
    found = claims.evaluate(from_origin, "worst_case_only", {"run": 0})
    assert found.holds is True
    assert found.text.endswith("from this start a slightly lower rate ends closer to θ*")


def test_the_loss_slope_uses_the_slower_factor(from_origin: Results) -> None:
    """At eta = 0.45 the slower factor is |1 - eta lambda_max| = 0.859: slope 0.738, not 0.731."""
    assert "with slope 0.738 per step" in text(from_origin, "excess_straight", run=0)


def test_ten_steps_are_not_yet_a_straight_line() -> None:
    found = claims.evaluate(make_results(), "excess_straight", {"run": 0})
    assert (found.holds, found.kind) == (False, "bent")
    assert "still makes up 7.28% of the excess" in found.text


def test_a_start_on_the_valley_floor_does_not_drop_down_its_side() -> None:
    results = optimizer_results()  # from (-2, 8): 7.99 along the valley, 0.366 across
    found = claims.evaluate(results, "path_shape", {"run": 0})
    assert found.kind == "near-floor" and "steep side" not in found.text
    assert "(7.99 along it, 0.366 across)" in found.text


def test_adam_steps_near_the_minimum_are_not_about_eta() -> None:
    results = optimizer_results()
    found = claims.evaluate(results, "adaptive_step_size", {"run": 3})
    assert found.holds is False and "fall well below η" in found.text


def test_nesterov_is_compared_without_contradicting_itself() -> None:
    results = optimizer_results()  # momentum and Nesterov at the same settings
    found = claims.evaluate(results, "rises_compared", {"run": 2})
    assert "damps" not in found.text or found.holds


def test_polyaks_rate_is_asymptotic() -> None:
    said = text(optimizer_results(), "polyak_from_start", run=1)
    assert "in the long run that is about 9 steps" in said
    assert "needs 12 steps to bring its distance to θ* below 1% of the start" in said


def test_a_sweep_whose_best_rates_tie_says_so() -> None:
    """Not "the lowest final loss came at 0.438": 18 rates end within 1e-9 J* of it."""
    from reportgen.config import validate
    from reportgen.numerics.experiment import compute

    config = validate({"device": "cpu", "surface": {"resolution": 8},
                       "runs": [{"learning_rate": 0.1, "epochs": 2}],
                       "sweep": {"min_rate": 0.005, "max_rate": 1.0, "num": 200, "epochs": 100}},
                      source="test")
    found = claims.evaluate(compute(config)[0], "sweep_best")
    assert found.kind == "tie"
    assert found.text.startswith("18 rates, between 0.286 and 0.450, end within 10⁻⁹ J*")


def test_runs_from_different_starts_are_not_ranked() -> None:
    found = claims.evaluate(make_results(), "closest_run")
    assert (found.holds, found.kind) == (False, "different-starts")


# ---------------------------------------------------------------- a copy without fields


def optional_paths() -> list[str]:
    """Every results path that ``store.student.without`` can leave out."""
    paths = []
    sample = make_results()
    for path in store.field_paths():
        try:
            without(sample, [path])
        except KeyError:
            continue
        paths.append(path)
    return paths


def _prose(html: str) -> str:
    body = html.split("<body>", 1)[1]
    body = re.sub(r"<(script|pre|style|figure)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"<[^>]+>", "", body)


def test_every_optional_field_can_be_withheld() -> None:
    assert {"ols.theta", "diagnostics.hessian_eigenvalues", "diagnostics.max_stable_lr",
            "diagnostics.condition_number", "diagnostics.optimal_lr"} <= set(optional_paths())


@pytest.fixture(scope="module")
def full() -> Results:
    momentum = {"name": "Momentum", "optimizer": "momentum", "learning_rate": 0.05,
                "epochs": 40, "init": [0.0, 0.0]}
    return make_results([*FROM_ORIGIN[:1], momentum])


@pytest.fixture(scope="module")
def full_figures(full: Results) -> dict:
    return make_figures(full)  # the figures are another renderer's: drawn once, in full


@pytest.mark.parametrize("path", optional_paths())
def test_a_copy_without_a_field_renders_and_never_prints_it(path: str, full: Results,
                                                            full_figures: dict) -> None:
    """A student copy is rendered from results without its withheld fields: every claim and
    sentence says something true without them, and the value is never printed."""
    value = store.resolve(full, path)
    copy = without(full, [path])
    for found in claims.every_claim(copy):  # none crashes
        assert isinstance(found.text, str)
    html = render_html(copy, None, full_figures, None)
    prose = _prose(html)
    shown: list[str] = []
    if path == "ols.theta":
        shown = [fmt_theta(value), fmt_num(value[0]), fmt_num(value[1])]
    elif path == "diagnostics.hessian_eigenvalues":
        shown = [f"= {fmt_num(v)}" for v in value]
    elif path in ("diagnostics.max_stable_lr", "diagnostics.optimal_lr"):
        shown = [f"= {fmt_num(value)}"]
    elif path == "diagnostics.condition_number":
        shown = [f"κ = {fmt_num(value)}"]
    for words in shown:
        assert words not in prose, (path, words)


def test_a_withheld_value_is_named_by_its_exercise() -> None:
    from results_fixture import with_exercises

    full = with_exercises(make_results(FROM_ORIGIN), [
        {"id": "bound", "prompt": "Compute 2/λ_max.", "answer": "diagnostics.max_stable_lr",
         "tolerance": 0.001, "points": 1}])
    copy = without(full, ["diagnostics.max_stable_lr"])
    found = claims.evaluate(copy, "bound_side", {"run": 0})
    assert found.holds is None
    assert "2/λ_max, which Exercise 1 asks for," in found.text


def test_every_claim_printed_is_marked_with_its_verdict(from_origin: Results) -> None:
    html = render_html(from_origin, None, make_figures(from_origin), None)
    marks = re.findall(r'data-claim="([a-z_]+)" data-args=\'([^\']*)\' data-holds="(yes|no|n/a)"',
                       html)
    assert len(marks) > 20
    assert {name for name, _, _ in marks} <= set(claims.REGISTRY)
    matched, problems = claims.recheck(from_origin, [
        {"name": name, "args": __import__("json").loads(args),
         "holds": {"yes": True, "no": False, "n/a": None}[holds]} for name, args, holds in marks])
    assert problems == [] and matched == len(marks)
