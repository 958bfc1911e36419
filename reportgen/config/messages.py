"""One line for one pydantic error: the field as a dotted path, what was expected, and
what was given, in TOML's words (``runs[1].batch_size: expected 1..100 (data.n), got 500``).

``describe`` picks a handler by pydantic's error type; each handler writes one kind of
line, and anything without one keeps pydantic's own message after the field.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel

from reportgen.config.errors import FieldError
from reportgen.config.limits import MAX_MAGNITUDE
from reportgen.config.schema import Config
from reportgen.config.spelling import dotted, show

Location = tuple[int | str, ...]

#: Fields that are pairs [a, b]: a wrong length or type says so.
PAIR_FIELDS = ("theta", "x_range", "theta0", "theta1", "init")

_EXPECTED_TYPE = {
    "string_type": "text in quotes",
    "model_type": "a table",
    "dict_type": "a table",
    "list_type": "an array [...]",
    "bool_type": "true or false",
    "date_type": "a date like 2026-01-31",
    "date_parsing": "a date like 2026-01-31",
    "date_from_datetime_parsing": "a date like 2026-01-31",
    "date_from_datetime_inexact": "a date like 2026-01-31",
}


class Error(NamedTuple):
    """A pydantic error as the handlers read it."""

    kind: str  # pydantic's error type
    location: Location  # without pydantic's union branch names
    given: Any
    ctx: Mapping[str, Any]
    message: str  # pydantic's message, without "Value error, "

    @property
    def field(self) -> str:
        """The field as messages name it: ``runs[1].batch_size``."""
        return dotted(self.location)

    @classmethod
    def read(cls, error: Mapping[str, Any]) -> Error:
        """The parts of one of pydantic's ``ValidationError.errors()``."""
        return cls(
            kind=error["type"],
            location=tuple(p for p in error["loc"] if not _is_union_tag(p)),
            given=error.get("input"),
            ctx=error.get("ctx", {}),
            message=str(error["msg"]).removeprefix("Value error, "),
        )


def describe(error: Mapping[str, Any]) -> str:
    """One line for one pydantic error: the field, what was expected, what was given."""
    read = Error.read(error)
    if "init" in read.location and read.location[0] == "runs":
        return _run_init(read)
    return _HANDLERS.get(read.kind, _plain)(read)


def related(error: Mapping[str, Any]) -> tuple[str, ...]:
    """Fields other than the one named that an error follows from (``data.n``)."""
    inner = error.get("ctx", {}).get("error")
    return inner.related if isinstance(inner, FieldError) else ()


def _is_union_tag(part: int | str) -> bool:
    """pydantic names union branches in locations ('list[...]', 'literal[...]'); drop them."""
    return isinstance(part, str) and ("[" in part or part in {"float", "str", "int"})


# ---------------------------------------------------------------- handlers


def _plain(error: Error) -> str:
    return f"{error.field}: {error.message}"


def _run_init(error: Error) -> str:
    # Both union branches fail; validate() keeps the first line per field, which shows
    # the whole value rather than one element of it.
    field = dotted(error.location[: error.location.index("init") + 1])
    return (f"{field}: expected \"random\" or a pair of finite numbers [theta0, theta1] "
            f"between -{MAX_MAGNITUDE:g} and {MAX_MAGNITUDE:g}, got {show(error.given)}")


def _unknown_key(error: Error) -> str:
    key = str(error.location[-1])
    model = _model_at(error.location)
    known = list(model.model_fields) if model else []
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else f"; expected one of {', '.join(known)}"
    return f"{error.field}: unknown key{hint}"


def _value_error(error: Error) -> str:
    inner = error.ctx.get("error")
    if isinstance(inner, FieldError):
        return f"{inner.field}: {inner.message}"
    if "got " not in error.message and error.given is not None:
        return f"{error.field}: {error.message}, got {show(error.given)}"
    return _plain(error)


def _expected(what: str) -> Callable[[Error], str]:
    """A handler of a value of the wrong kind: ``expected WHAT, got VALUE``."""
    return lambda error: f"{error.field}: expected {what}, got {show(error.given)}"


def _literal(error: Error) -> str:
    return _expected(error.ctx.get("expected", ""))(error)


def _wrong_type(error: Error) -> str:
    return _expected(_expected_type(error.kind, error.location))(error)


def _is_pair(error: Error) -> bool:
    return bool(error.location) and error.location[-1] in PAIR_FIELDS


def _pair(location: Location, given: Any) -> str:
    return f"{dotted(location)}: expected a pair [a, b], got {show(given)}"


def _tuple_type(error: Error) -> str:
    return _pair(error.location, error.given) if _is_pair(error) else _plain(error)


def _too_short(error: Error) -> str:
    if _is_pair(error):
        return _pair(error.location, error.given)
    if error.location == ("runs",):
        return "runs: expected at least one [[runs]] table, got none"
    return _plain(error)


def _too_long(error: Error) -> str:
    if _is_pair(error):
        return _pair(error.location, error.given)
    limit = error.ctx.get("max_length")
    count = len(error.given) if isinstance(error.given, list | tuple) else "more"
    what = "[[runs]] tables" if error.location == ("runs",) else "entries"
    return f"{error.field}: expected at most {limit} {what}, got {count}"


def _missing(error: Error) -> str:
    if len(error.location) > 1 and isinstance(error.location[-1], int):
        return _pair(error.location[:-1], error.given)  # a pair with one number
    return f"{error.field}: required"


def _out_of_bounds(error: Error) -> str:
    return f"{error.field}: expected a value {_bound(error.ctx)}, got {show(error.given)}"


_HANDLERS: dict[str, Callable[[Error], str]] = {
    "extra_forbidden": _unknown_key,
    "value_error": _value_error,
    **dict.fromkeys(("int_type", "int_from_float", "int_parsing"), _expected("a whole number")),
    **dict.fromkeys(("float_type", "float_parsing"), _expected("a number")),
    "finite_number": _expected("a finite number"),
    "literal_error": _literal,
    "tuple_type": _tuple_type,
    "too_short": _too_short,
    "too_long": _too_long,
    "missing": _missing,
    **dict.fromkeys(_EXPECTED_TYPE, _wrong_type),
    **dict.fromkeys(("greater_than", "greater_than_equal", "less_than", "less_than_equal"),
                    _out_of_bounds),
}


# ---------------------------------------------------------------- what was expected


def _model_at(location: Sequence[int | str]) -> type[BaseModel] | None:
    """The pydantic model that holds the field at ``location``, if any."""
    model: type[BaseModel] = Config
    for part in location[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        inner = _first_model(field.annotation)
        if inner is None:
            return None
        model = inner
    return model


def _first_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _first_model(arg)
        if found is not None:
            return found
    return None


def _expected_type(kind: str, location: Sequence[int | str]) -> str:
    """What a wrongly typed field should have been, in TOML's words."""
    if location and location[0] == "runs" and kind in ("model_type", "list_type"):
        return "an array of [[runs]] tables" if len(location) == 1 else "a [[runs]] table"
    if kind in ("model_type", "dict_type"):
        return f"a table [{dotted(location)}]"
    return _EXPECTED_TYPE[kind]


def _bound(ctx: Mapping[str, Any]) -> str:
    symbols = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    return " and ".join(f"{symbols[k]} {v:g}" if isinstance(v, float) and abs(v) >= 1e6
                        else f"{symbols[k]} {v}" for k, v in ctx.items() if k in symbols)
