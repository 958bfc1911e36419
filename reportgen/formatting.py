"""How every computed number is written: one policy for prose, tables, claims and figures.

**Prose** (and claims, which are prose): three significant figures (0.992, 12.8, 0.0118),
never rounding away a digit before the point (3325, not 3320); a number that is exactly
an integer is written as one (n = 100, never 100.000); scientific notation with
superscript powers below 0.001 and from a million (2.50 × 10⁻⁷), never ``10^-7`` or
``e-07``; the true minus sign (U+2212); digits grouped in threes with a thin space from
10 000. Percentages take three significant figures too (2.65%, 85.5%, 20%); what rounds
below 0.001% says "less than 0.001%"; a share of 1000% or more is written as a factor
instead ("13.5 times"), since a four-digit percentage reads as noise. Values given in the
config (rates, ranges, the true line) are written as given: 0.1, [−10, 10].

**Tables** follow the same rule (a number reads the same in a table as in the text: κ is
12.8 everywhere), with one unit per column: a relative-excess column is in percent in
every row, and an excess of 1000% or more is written in powers of ten there (8.50 × 10⁵%,
never "8504 × L*" nor a four-digit percentage); a missing value is "n/a".

This module sits below the renderer and the claims (numpy-free, no Jinja): the sentences
that :mod:`reportgen.claims` returns are written with the same functions as the templates'
filters (:mod:`reportgen.render.format`).
"""

from __future__ import annotations

import math
from typing import Any

#: Significant figures of every computed number in prose and tables.
SIGNIFICANT = 3
#: At or above this magnitude a number is written in scientific notation ...
SCIENTIFIC_ABOVE = 1e6
#: ... and below this one (but not zero).
SCIENTIFIC_BELOW = 1e-3
#: From this magnitude on, digits are grouped in threes (with a thin space).
GROUP_FROM = 10_000
#: A relative excess or share of this much (1000%) or more is written as a factor.
FACTOR_FROM = 10.0
#: The smallest percentage written as a number ("less than 0.001%" below it).
SMALLEST_PERCENT = 0.001

MINUS = "\u2212"
THIN = "\u2009"
TIMES = "\u00d7"
_SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076"
                                            "\u2077\u2078\u2079")

def _signed(text: str) -> str:
    return MINUS + text[1:] if text.startswith("-") else text


def _grouped(text: str) -> str:
    """Thin-space thousands groups in the integer part of a plain decimal."""
    sign = "-" if text.startswith("-") else ""
    whole, dot, fraction = text.lstrip("-").partition(".")
    if len(whole) > 4:
        whole = f"{int(whole):,}".replace(",", THIN)
    return sign + whole + dot + fraction


def superscript(exponent: int) -> str:
    """An integer in superscript digits: -7 -> '⁻⁷'."""
    return str(exponent).translate(_SUPERSCRIPT)


def _scientific(x: float, digits: int) -> str:
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    return f"{_signed(mantissa)}{THIN}{TIMES}{THIN}10{superscript(int(exponent))}"


def significant(x: float, digits: int = SIGNIFICANT) -> str:
    """A finite float to ``digits`` significant figures as a plain decimal, keeping every
    digit before the point (3324.7 -> '3325'); no sign conversion, no grouping."""
    if x == 0:
        return "0"
    rounded = float(f"{x:.{digits - 1}e}")  # 9.996 -> 10.0 decides the decimals below
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(rounded))))
    text = f"{x:.{decimals}f}"
    return text.lstrip("-") if float(text) == 0 else text


def fmt_num(value: Any, digits: int = SIGNIFICANT) -> str:
    """A computed number to ``digits`` significant figures (see the module's policy)."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return _signed(_grouped(str(value)))
    x = float(value)
    if not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    if abs(x) >= SCIENTIFIC_ABOVE or abs(x) < SCIENTIFIC_BELOW:
        return _scientific(x, digits)
    if x == int(x):
        return _signed(_grouped(str(int(x))))
    return _signed(_grouped(significant(x, digits)))


def _percent_number(percent: float) -> str:
    """A percentage's number to three significant figures; whole numbers as integers."""
    if abs(percent - round(percent)) <= 1e-9 * max(1.0, abs(percent)):
        return _signed(str(round(percent)))
    return _signed(significant(percent, SIGNIFICANT))


def fmt_pct(value: Any) -> str:
    """A fraction as a percentage: 0.02652 -> '2.65%'; below 0.001% 'less than 0.001%';
    from 1000% on a factor ('×13.5')."""
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    x = float(value)
    if abs(x) >= FACTOR_FROM:
        return f"{TIMES}{fmt_factor(x)}"
    if 0 < abs(x) * 100 < SMALLEST_PERCENT:
        return f"less than {SMALLEST_PERCENT:g}%"
    return f"{_percent_number(100 * x)}%"


def fmt_factor(value: Any) -> str:
    """A ratio as a factor to three significant figures: '1.07', '5', '13.5', '8504'."""
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    x = float(value)
    if abs(x) >= SCIENTIFIC_ABOVE:
        return _scientific(x, SIGNIFICANT)
    if x == int(x):
        return _signed(_grouped(str(int(x))))
    return _signed(_grouped(significant(x)))


def fmt_above(gap: Any) -> str:
    """A relative excess over a floor in words: '2.65% above', 'less than 0.001% above',
    '8504 times' (the floor)."""
    if gap is None or not math.isfinite(float(gap)):
        return "n/a"
    x = float(gap)
    if x >= FACTOR_FROM:
        return f"{fmt_factor(1.0 + x)} times"
    if 0 <= x * 100 < SMALLEST_PERCENT:
        return f"less than {SMALLEST_PERCENT:g}% above"
    return f"{fmt_pct(x)} above"


def fmt_gap(gap: Any) -> str:
    """A relative excess in a table's percent column: '2.65%', '< 0.001%', '8.50 × 10⁵%'."""
    if gap is None or not math.isfinite(float(gap)):
        return "n/a"
    x = float(gap)
    if x >= FACTOR_FROM:
        return f"{_scientific(100 * x, SIGNIFICANT)}%"
    if 0 < abs(x) * 100 < SMALLEST_PERCENT:
        return f"<{THIN}{SMALLEST_PERCENT:g}%"
    return fmt_pct(x)


def fmt_share(ratio: Any) -> str:
    """What is left of a start: 'to 6.19% of', 'to less than 0.001% of', '12.4 times'."""
    if ratio is None or not math.isfinite(float(ratio)):
        return "n/a"
    x = float(ratio)
    if x > 1.0:
        return f"{fmt_factor(x)} times"
    return f"to {fmt_pct(x)} of"


def fmt_theta(value: Any, digits: int = SIGNIFICANT) -> str:
    """A parameter pair as '(a, b)'."""
    if value is None or any(v is None for v in value):
        return "n/a (overflowed)"
    return f"({fmt_num(value[0], digits)}, {fmt_num(value[1], digits)})"


def fmt_rate(value: Any) -> str:
    """A number as given in the config (shortest exact form), true minus: 0.1, −10, 2."""
    if value is None:
        return "n/a"
    text = f"{float(value):g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{_signed(mantissa)}{THIN}{TIMES}{THIN}10{superscript(int(exponent))}"
    return _signed(text)


def fmt_range(pair: Any) -> str:
    """A config interval as given: '[0, 2]', '[−10, 10]'."""
    return f"[{fmt_rate(pair[0])}, {fmt_rate(pair[1])}]"


def fmt_count(count: int, noun: str, plural: str | None = None) -> str:
    """'1 step', '3 steps', '0 steps'."""
    return f"{fmt_num(int(count))} {noun if count == 1 else (plural or noun + 's')}"


def _proper_nouns() -> frozenset[str]:
    from reportgen.optimizers import OPTIMIZERS

    words = {word.strip("()") for opt in OPTIMIZERS.values() for word in opt.title.split()}
    return frozenset(word for word in words if word[:1].isupper())


PROPER_NOUNS = _proper_nouns()


def in_sentence(name: Any) -> str:
    """A run's name inside a sentence: 'Batch gradient descent' -> 'batch gradient descent',
    but 'Adam', 'Nesterov momentum', 'SGD' and 'GD at 2/λ_max' keep their capitals."""
    text = str(name)
    first = text.split(" ", 1)[0]
    if not first[:1].isupper() or first in PROPER_NOUNS or any(c.isupper() for c in first[1:]):
        return text
    return text[:1].lower() + text[1:]
