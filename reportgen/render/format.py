"""Number formatting for prose and tables: the Jinja filters, one rule for every number."""

from __future__ import annotations

import math
from typing import Any

#: At or above this magnitude a number is written in scientific notation.
SCIENTIFIC_ABOVE = 1e6


def fmt_num(value: Any, digits: int = 3) -> str:
    """A number with ``digits`` decimals; scientific when very large or very small."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}".replace(",", "\u2009") if abs(value) >= 10_000 else str(value)
    x = float(value)
    if not math.isfinite(x):
        return "n/a"
    if x != 0 and (abs(x) >= SCIENTIFIC_ABOVE or abs(x) < 10.0 ** -digits):
        mantissa, exponent = f"{x:.{digits}e}".split("e")
        return f"{mantissa}\u2009×\u200910^{int(exponent)}"  # noqa: RUF001
    return f"{x:.{digits}f}"


def fmt_pct(value: Any, digits: int = 3) -> str:
    """A fraction as a percentage with ``digits`` decimals, e.g. 0.02652 -> '2.652%'."""
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    return f"{fmt_num(100 * float(value), digits)}%"


def fmt_theta(value: Any, digits: int = 3) -> str:
    """A parameter pair as '(a, b)'."""
    if value is None or any(v is None for v in value):
        return "n/a (overflowed)"
    return f"({fmt_num(value[0], digits)}, {fmt_num(value[1], digits)})"


def fmt_rate(value: Any) -> str:
    """A learning rate as given in the config (shortest exact form)."""
    return "n/a" if value is None else f"{float(value):g}"


#: The filters every template may use, by name.
FILTERS = {"num": fmt_num, "pct": fmt_pct, "theta": fmt_theta, "rate": fmt_rate}
