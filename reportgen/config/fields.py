"""The field types the config's models share: finite numbers, bounded pairs, ranges, text."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from reportgen.config.limits import (
    MAX_MAGNITUDE,
    MAX_NAME_CHARS,
    MAX_TITLE_CHARS,
    MIN_RELATIVE_WIDTH,
)
from reportgen.config.spelling import show

Finite = Annotated[float, Field(allow_inf_nan=False)]
Pair = tuple[Finite, Finite]


class StrictModel(BaseModel):
    """A frozen model that refuses unknown keys and non-finite numbers; its attribute
    docstrings are the JSON Schema's descriptions."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False,
                              use_attribute_docstrings=True)


def check_magnitude(value: Pair) -> Pair:
    """``value`` when both numbers are within ``MAX_MAGNITUDE``."""
    if any(abs(v) > MAX_MAGNITUDE for v in value):
        raise ValueError(f"expected numbers between -{MAX_MAGNITUDE:g} and {MAX_MAGNITUDE:g}, "
                         f"got {show(list(value))}")
    return value


def check_range(value: Pair, *, what: str = "range") -> Pair:
    """``value`` when it is an increasing [low, high], wide enough to compute on."""
    low, high = check_magnitude(value)
    if not low < high:
        raise ValueError(f"expected an increasing {what} [low, high] with low < high")
    least = MIN_RELATIVE_WIDTH * max(1.0, abs(low), abs(high))
    if high - low < least:
        raise ValueError(f"expected a {what} at least {least:g} wide ({MIN_RELATIVE_WIDTH:g} of "
                         f"its largest end, or of 1), got {show(list(value))}")
    return value


#: A pair of coordinates on the scale of the data (a true theta, a start).
BoundedPair = Annotated[Pair, AfterValidator(check_magnitude)]


def check_text(limit: int) -> AfterValidator:
    """A validator of user text: at most ``limit`` characters, no control characters.

    Control characters (NUL, escape, newline, ...) are refused rather than stripped: a
    title is recorded as given in config.toml and results.json, and none of them belongs
    in one; C1 controls and lone surrogates likewise.
    """
    def check(text: str) -> str:
        if len(text) > limit:
            raise ValueError(f"expected at most {limit} characters, got {len(text)}")
        for index, char in enumerate(text):
            if unicodedata.category(char) in ("Cc", "Cs"):
                raise ValueError(f"expected text without control characters, got "
                                 f"U+{ord(char):04X} at character {index + 1}")
        return text

    return AfterValidator(check)


Title = Annotated[str, check_text(MAX_TITLE_CHARS)]
Name = Annotated[str, check_text(MAX_NAME_CHARS)]
