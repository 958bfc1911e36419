"""Number formatting for prose and tables: the Jinja filters, one rule for every number.

Typography: negative numbers take the true minus sign (U+2212), as the figures do; powers
of ten are written with superscript digits (2.5 × 10⁻⁷), never as ``10^-7``; a percentage
never has four or more digits before its point: growth is written as a factor instead
("13.5 times"), and what rounds to zero says so ("less than 0.001%").
"""

from __future__ import annotations

import math
from typing import Any

#: At or above this magnitude a number is written in scientific notation.
SCIENTIFIC_ABOVE = 1e6
#: From this magnitude on, digits are grouped in threes (with a thin space).
GROUP_FROM = 10_000
MINUS = "\u2212"
THIN = "\u2009"
TIMES = "\u00d7"
_SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076"
                                            "\u2077\u2078\u2079")
#: A relative excess or share of 1000% or more is written as a factor.
FACTOR_FROM = 10.0


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


def fmt_num(value: Any, digits: int = 3) -> str:
    """A number with ``digits`` decimals; scientific when very large or very small."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return _signed(_grouped(str(value)) if abs(value) >= GROUP_FROM else str(value))
    x = float(value)
    if not math.isfinite(x):
        return "n/a"
    if x != 0 and (abs(x) >= SCIENTIFIC_ABOVE or abs(x) < 0.5 * 10.0 ** -digits):
        mantissa, exponent = f"{x:.{digits}e}".split("e")
        return f"{_signed(mantissa)}{THIN}{TIMES}{THIN}10{superscript(int(exponent))}"
    text = f"{x:.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")  # no "-0.000"
    return _signed(_grouped(text) if abs(x) >= GROUP_FROM else text)


def fmt_pct(value: Any, digits: int = 3) -> str:
    """A fraction as a percentage with ``digits`` decimals, e.g. 0.02652 -> '2.652%'.

    Below the last decimal it is 'less than 0.001%' (never a power of ten); from 1000% on, a
    factor ('×13.5'), since a four-digit percentage reads as noise.
    """
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    x = float(value)
    if abs(x) >= FACTOR_FROM:
        return f"{TIMES}{fmt_factor(x)}"
    if 0 < abs(x) * 100 < 0.5 * 10.0 ** -digits:
        return f"less than {10.0 ** -digits:.{digits}f}%"
    return f"{_signed(f'{100 * x:.{digits}f}')}%"


def fmt_factor(value: Any) -> str:
    """A ratio as a factor to three significant digits: '1.07', '5', '13.5', '8504'."""
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    x = float(value)
    if abs(x) >= SCIENTIFIC_ABOVE:
        return fmt_num(x, 2)
    if abs(x) >= 100:
        return fmt_num(round(x))
    return _signed(f"{x:.3g}")


def fmt_above(gap: Any, digits: int = 3) -> str:
    """A relative excess over a floor in words: '2.652% above', 'less than 0.001% above',
    '8504 times' (the floor)."""
    if gap is None or not math.isfinite(float(gap)):
        return "n/a"
    x = float(gap)
    if x >= FACTOR_FROM:
        return f"{fmt_factor(1.0 + x)} times"
    if 0 <= x * 100 < 0.5 * 10.0 ** -digits:
        return f"less than {10.0 ** -digits:.{digits}f}% above"
    return f"{fmt_pct(x, digits)} above"


def fmt_gap(gap: Any, digits: int = 3) -> str:
    """A relative excess for a table column: '2.652%', '< 0.001%', '8504 × L*'."""
    if gap is None or not math.isfinite(float(gap)):
        return "n/a"
    x = float(gap)
    if x >= FACTOR_FROM:
        return f"{fmt_factor(1.0 + x)}{THIN}{TIMES}{THIN}L*"
    if 0 < abs(x) * 100 < 0.5 * 10.0 ** -digits:
        return f"<{THIN}{10.0 ** -digits:.{digits}f}%"
    return fmt_pct(x, digits)


def fmt_share(ratio: Any, digits: int = 1) -> str:
    """What is left of a start: 'to 6.2% of', 'to less than 0.1% of', '12.38 times' (grown)."""
    if ratio is None or not math.isfinite(float(ratio)):
        return "n/a"
    x = float(ratio)
    if x > 1.0:
        return f"{fmt_factor(x)} times"
    if x * 100 < 0.5 * 10.0 ** -digits:
        return f"to less than {10.0 ** -digits:.{digits}f}% of"
    return f"to {fmt_pct(x, digits)} of"


def fmt_theta(value: Any, digits: int = 3) -> str:
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


def _proper_nouns() -> frozenset[str]:
    from reportgen.optimizers import OPTIMIZERS

    words = {word.strip("()") for opt in OPTIMIZERS.values() for word in opt.title.split()}
    return frozenset(word for word in words if word[:1].isupper())


PROPER_NOUNS = _proper_nouns()


def in_sentence(name: Any) -> str:
    """A run's name inside a sentence: 'Batch gradient descent' -> 'batch gradient descent',
    but 'Adam', 'Nesterov momentum', 'SGD' and 'GD at 2/L' keep their capitals."""
    text = str(name)
    first = text.split(" ", 1)[0]
    if not first[:1].isupper() or first in PROPER_NOUNS or any(c.isupper() for c in first[1:]):
        return text
    return text[:1].lower() + text[1:]


#: The filters every template may use, by name.
FILTERS = {"num": fmt_num, "pct": fmt_pct, "theta": fmt_theta, "rate": fmt_rate,
           "given": fmt_rate, "interval": fmt_range, "factor": fmt_factor, "above": fmt_above,
           "gap": fmt_gap, "share": fmt_share, "in_sentence": in_sentence}
