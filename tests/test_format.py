"""reportgen.render.format: one typography for every number in the prose."""

from __future__ import annotations

import pytest

from reportgen.render import format as fmt


@pytest.mark.parametrize(("value", "expected"), [
    (0.026522654, "2.652%"),
    (0.0, "0.000%"),
    (5.516e-10, "less than 0.001%"),  # never "5.516 × 10^-8%"
    (12.4968, "×12.5"),  # never "1249.685%"
    (8502.877, "×8503"),
    (None, "n/a"),
])
def test_percentages_never_have_four_digits_or_powers(value: float | None, expected: str) -> None:
    assert fmt.fmt_pct(value) == expected


@pytest.mark.parametrize(("gap", "words", "cell"), [
    (0.026522654, "2.652% above", "2.652%"),
    (1.2967e-14, "less than 0.001% above", "<\u20090.001%"),
    (12.4968, "13.5 times", "13.5\u2009×\u2009L*"),
    (8502.877194447117, "8504 times", "8504\u2009×\u2009L*"),
])
def test_excess_over_a_floor_in_words_and_in_tables(gap: float, words: str, cell: str) -> None:
    assert fmt.fmt_above(gap) == words
    assert fmt.fmt_gap(gap) == cell


@pytest.mark.parametrize(("ratio", "expected"), [
    (0.0619, "to 6.2% of"), (0.0002, "to less than 0.1% of"), (12.384, "12.4 times"),
])
def test_what_is_left_of_a_start(ratio: float, expected: str) -> None:
    assert fmt.fmt_share(ratio) == expected


def test_factors_have_three_significant_digits() -> None:
    assert [fmt.fmt_factor(v) for v in (5.0, 1.0656, 12.38, 8503.9)] == ["5", "1.07", "12.4",
                                                                          "8504"]


def test_config_values_as_given_with_true_minus() -> None:
    assert fmt.fmt_rate(0.1) == "0.1"
    assert fmt.fmt_range([-10.0, 10.0]) == "[\u221210, 10]"
    assert fmt.fmt_range([0.0, 2.0]) == "[0, 2]"  # not [0.0, 2.0] or [0.000, 2.000]
    assert fmt.fmt_rate(1e-8) == "1\u2009×\u200910⁻⁸"
    assert fmt.fmt_theta([-0.354, -1.375]) == "(\u22120.354, \u22121.375)"


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
