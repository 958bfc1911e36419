"""Number formatting for prose and tables: the Jinja filters, one rule for every number."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any

#: At or above this magnitude a number is written in scientific notation.
SCIENTIFIC_ABOVE = 1e6
#: What a student copy shows instead of a number that would give an answer away.
WITHHELD = "▢"

_withheld: ContextVar[tuple[tuple[float, float], ...]] = ContextVar("withheld", default=())


@contextlib.contextmanager
def withholding(secrets: Iterable[tuple[float, float]]) -> Iterator[None]:
    """Within the block, every formatter writes ``WITHHELD`` for numbers that would give a
    secret away: each ``(value, tolerance)`` hides every number within that relative
    tolerance of the value (a run that converged shows the answer it converged to)."""
    token = _withheld.set(tuple((float(v), float(t)) for v, t in secrets))
    try:
        yield
    finally:
        _withheld.reset(token)


def withheld_now() -> tuple[tuple[float, float], ...]:
    """The secrets the current copy withholds (part of what its figures depend on)."""
    return _withheld.get()


def is_withheld(value: Any) -> bool:
    """Whether ``value`` would give away a number the current copy must not show."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return any(abs(number - secret) <= max(tolerance * abs(secret), 1e-300)
               for secret, tolerance in _withheld.get())


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
    if is_withheld(x):
        return WITHHELD
    if x != 0 and (abs(x) >= SCIENTIFIC_ABOVE or abs(x) < 10.0 ** -digits):
        mantissa, exponent = f"{x:.{digits}e}".split("e")
        return f"{mantissa}\u2009×\u200910^{int(exponent)}"  # noqa: RUF001
    return f"{x:.{digits}f}"


def fmt_pct(value: Any, digits: int = 3) -> str:
    """A fraction as a percentage with ``digits`` decimals, e.g. 0.02652 -> '2.652%'."""
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    if is_withheld(value):
        return WITHHELD
    return f"{fmt_num(100 * float(value), digits)}%"


def fmt_theta(value: Any, digits: int = 3) -> str:
    """A parameter pair as '(a, b)'."""
    if value is None or any(v is None for v in value):
        return "n/a (overflowed)"
    return f"({fmt_num(value[0], digits)}, {fmt_num(value[1], digits)})"


def fmt_rate(value: Any) -> str:
    """A learning rate as given in the config (shortest exact form)."""
    if value is None:
        return "n/a"
    return WITHHELD if is_withheld(value) else f"{float(value):g}"


#: The filters every template may use, by name.
FILTERS = {"num": fmt_num, "pct": fmt_pct, "theta": fmt_theta, "rate": fmt_rate}
