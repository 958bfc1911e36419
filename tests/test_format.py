"""reportgen.formatting (the templates' filters in reportgen.render.format): one policy for
every number in the prose and the tables, and claims marked in the HTML."""

from __future__ import annotations

import pytest

from reportgen.render import format as fmt


@pytest.mark.parametrize(("value", "expected"), [
    (0.026522654, "2.65%"),  # three significant figures, never "2.652%"
    (0.0, "0%"),
    (0.2, "20%"),  # a whole percentage as an integer
    (0.85504, "85.5%"),
    (0.000644, "0.0644%"),
    (5.516e-10, "less than 0.001%"),  # never "5.516 × 10^-8%"
    (12.4968, "×12.5"),  # never "1249.685%"
    (8502.877, "×8503"),
    (None, "n/a"),
])
def test_percentages_have_three_significant_figures(value: float | None, expected: str) -> None:
    assert fmt.fmt_pct(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (12.834, "12.8"),  # kappa, the same everywhere
    (100.0, "100"),  # n inside X^T X: an integer, never "100.000"
    (100, "100"),
    (3324.713, "3325"),  # no digit before the point is rounded away
    (0.48411, "0.484"),
    (9.9996, "10.0"),
    (0.0011842, "0.00118"),
    (2.5e-7, "2.50\u2009×\u200910⁻⁷"),
    (-0.354, "\u22120.354"),
    (12345.678, "12\u2009346"),
    (1.2e7, "1.20\u2009×\u200910⁷"),
    (0.0, "0"),
    (float("nan"), "n/a"),
])
def test_numbers_have_three_significant_figures(value: float, expected: str) -> None:
    assert fmt.fmt_num(value) == expected


@pytest.mark.parametrize(("gap", "words", "cell"), [
    (0.026522654, "2.65% above", "2.65%"),
    (1.2967e-14, "less than 0.001% above", "<\u20090.001%"),
    (12.4968, "13.5 times", "1.25\u2009×\u200910³%"),
    (8502.877194447117, "8504 times", "8.50\u2009×\u200910⁵%"),  # one unit per column: %
])
def test_excess_over_a_floor_in_words_and_in_tables(gap: float, words: str, cell: str) -> None:
    assert fmt.fmt_above(gap) == words
    assert fmt.fmt_gap(gap) == cell


@pytest.mark.parametrize(("ratio", "expected"), [
    (0.0619, "to 6.19% of"), (0.0002, "to 0.0200% of"), (12.384, "12.4 times"),
])
def test_what_is_left_of_a_start(ratio: float, expected: str) -> None:
    assert fmt.fmt_share(ratio) == expected


def test_factors_have_three_significant_digits() -> None:
    assert [fmt.fmt_factor(v) for v in (5.0, 1.0656, 12.38, 8503.9)] == ["5", "1.07", "12.4",
                                                                          "8504"]


def test_a_claim_is_marked_with_its_name_arguments_and_verdict() -> None:
    view = {"name": "bound_side", "args": {"run": 0}, "holds": False, "kind": "",
            "text": "η = 0.5 is above 2/λ_max <b>", "short": "above"}
    html = str(fmt.FILTERS["Claim"](view))
    assert html == ("<span data-claim=\"bound_side\" data-args='{\"run\":0}' data-holds=\"no\">"
                    "η = 0.5 is above 2/λ<sub>max</sub> &lt;b&gt;</span>")  # eta keeps its case
    assert "data-holds=\"n/a\"" in str(fmt.claim_html({**view, "holds": None}))
    assert ">above</span>" in str(fmt.claim_short(view))
    assert str(fmt.claim_html(None)) == "" == str(fmt.claim_html({**view, "text": ""}))


def test_config_values_as_given_with_true_minus() -> None:
    assert fmt.fmt_rate(0.1) == "0.1"
    assert fmt.fmt_range([-10.0, 10.0]) == "[\u221210, 10]"
    assert fmt.fmt_range([0.0, 2.0]) == "[0, 2]"  # not [0.0, 2.0] or [0.000, 2.000]
    assert fmt.fmt_rate(1e-8) == "1\u2009×\u200910⁻⁸"
    assert fmt.fmt_theta([-0.354, -1.375]) == "(\u22120.354, \u22121.38)"  # 3 figures


def test_superscripts() -> None:
    assert fmt.superscript(-12) == "⁻¹²"
    assert fmt.superscript(7) == "⁷"


@pytest.mark.parametrize(("name", "expected"), [
    ("Batch gradient descent", "batch gradient descent"),
    ("The notebook's rate", "the notebook's rate"),
    ("Adam", "Adam"), ("Nesterov momentum", "Nesterov momentum"), ("SGD run", "SGD run"),
    ("lower already", "lower already"),
])
def test_run_names_inside_a_sentence(name: str, expected: str) -> None:
    assert fmt.in_sentence(name) == expected
