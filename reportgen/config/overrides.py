"""``--set KEY=VALUE`` overrides: a dotted key read with TOML's grammar, a value read as
TOML (else kept as text), set into the raw config before it is validated."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from reportgen.config.errors import ConfigError
from reportgen.config.limits import MAX_KEY_CHARS, MAX_KEY_PARTS
from reportgen.config.sections import RunConfig
from reportgen.config.shape import TOML_TOKEN, toml_shape_error
from reportgen.config.spelling import dotted, show


class Override(NamedTuple):
    """One value set over the config: where, what, and how the user wrote it."""

    keys: tuple[str, ...]
    value: Any
    label: str  # "--set runs.0.learning_rate=0.3", or "overrides['runs.0.learning_rate']"


def _label(text: str) -> str:
    """``--set TEXT`` for messages, shortened when TEXT is long."""
    return f"--set {text if len(text) <= 80 else text[:77] + '...'}"


def _not_key_value(label: str) -> ConfigError:
    return ConfigError(f"{label}: expected KEY=VALUE with a dotted key "
                       f"(e.g. runs.0.learning_rate=0.3)")


def parse_key(text: str, label: str) -> tuple[str, ...]:
    """A dotted key read with TOML's grammar: ``data."x.y"`` is ``("data", "x.y")``."""
    key = text.strip()
    if not key or "\n" in key:
        raise _not_key_value(label)
    if len(key) > MAX_KEY_CHARS:
        raise ConfigError(f"{label}: expected a key of at most {MAX_KEY_CHARS} characters, "
                          f"got {len(key)}")
    if toml_shape_error(key) is not None:
        raise ConfigError(f"{label}: expected a dotted key of at most {MAX_KEY_PARTS} parts")
    try:
        table: Any = tomllib.loads(f"{key} = 0")
    except tomllib.TOMLDecodeError:
        raise _not_key_value(label) from None
    parts: list[str] = []
    while isinstance(table, dict) and len(table) == 1:
        part, table = next(iter(table.items()))
        parts.append(part)
    if isinstance(table, bool) or table != 0:
        raise _not_key_value(label)
    return tuple(parts)


def _split_override(text: str) -> tuple[str, str] | None:
    """``(key, value)`` split at the first ``=`` outside quotes, or None."""
    for match in TOML_TOKEN.finditer(text):
        if match.group() == "=":
            return text[: match.start()], text[match.end():]
    return None


def parse_override(text: str) -> Override:
    """Split ``dotted.key=value``; the value is read as TOML, else kept as a string.

    The key follows TOML's grammar (``data."x.y"=1`` sets the key ``x.y``); the value's
    nesting is checked before it is parsed.
    """
    label = _label(text)
    split = _split_override(text)
    if split is None:
        raise _not_key_value(label)
    key, value = split
    keys = parse_key(key, label)
    value = value.strip()
    too_deep = toml_shape_error(f"v = {value}")
    if too_deep is not None:
        raise ConfigError(f"{label}: {too_deep.partition(': ')[2]}")
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return Override(keys, parsed, label)


def overrides_from(values: Sequence[str] | Mapping[str, Any]) -> list[Override]:
    """``--set`` texts, or a mapping of dotted keys to values (the Python API's form)."""
    if isinstance(values, Mapping):
        overrides = []
        for key, value in values.items():
            label = f"overrides[{str(key)!r}]"
            overrides.append(Override(parse_key(str(key), label), value, label))
        return overrides
    return [parse_override(text) for text in values]


def apply_override(
    raw: dict[str, Any], keys: Sequence[str], value: Any, label: str | None = None
) -> None:
    """Set ``value`` at the dotted ``keys`` inside ``raw`` (list items by index).

    ``label`` names the override in errors (default: ``--set KEY``).
    """
    named = label or f"--set {dotted(keys)}"
    where: Any = raw
    for depth, key in enumerate(keys):
        slot = _slot(where, key, dotted(keys[:depth]), named)
        if depth == len(keys) - 1:
            where[slot] = value
        else:
            where = _descend(where, slot)


def _slot(where: Any, key: str, parent: str, named: str) -> int | str:
    """Where ``key`` lives in ``where``: an index of an array, a key of a table."""
    if isinstance(where, list):
        if not key.isdigit() or int(key) >= len(where):
            raise ConfigError(
                f"{named}: {parent} has {len(where)} "
                f"{'entry' if len(where) == 1 else 'entries'}; expected an "
                f"index 0..{len(where) - 1}, got {key!r}"
            )
        return int(key)
    if isinstance(where, dict):
        return key
    raise ConfigError(f"{named}: {parent} is {show(where)}, not a table to set {key!r} in")


def _descend(where: Any, slot: Any) -> Any:
    """The item at ``slot``, a new table when a table has none (the default run for
    ``runs``, so that ``--set runs.0.epochs=3`` works on a config without runs)."""
    if isinstance(where, list):
        return where[slot]
    if slot == "runs" and slot not in where:
        where[slot] = [RunConfig().model_dump(mode="json")]
    return where.setdefault(slot, {})
