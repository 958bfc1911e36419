"""Plain data in, a ``Config`` out, or one ``ConfigError`` line per bad field, each blamed
on the file or on the ``--set`` that gave it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from reportgen.config.errors import ConfigError
from reportgen.config.messages import describe, related
from reportgen.config.overrides import Override
from reportgen.config.schema import Config
from reportgen.config.spelling import dotted

#: The most lines one ``ConfigError`` lists.
MAX_LINES = 5


def validate(
    raw: Mapping[str, Any], source: str = "config", overrides: Sequence[Override] = ()
) -> Config:
    """Validate plain data into a ``Config``; a ``ConfigError`` lists each bad field.

    A field set by an override, or an error that follows from one (a batch size larger
    than an overridden ``data.n``), is blamed on that ``--set`` rather than on ``source``.
    """
    try:
        return Config.model_validate(dict(raw))
    except ValidationError as exc:
        described = _one_per_field((describe(error), related(error)) for error in exc.errors())
        shown = [f"{_source_of((line.partition(': ')[0], *fields), source, overrides)}: {line}"
                 for line, fields in described[:MAX_LINES]]
        raise ConfigError("\n".join(shown)) from None


def _one_per_field(
    described: Iterable[tuple[str, tuple[str, ...]]],
) -> list[tuple[str, tuple[str, ...]]]:
    """The first line for each field (a union field fails once per branch)."""
    seen: dict[str, tuple[str, tuple[str, ...]]] = {}
    for line, fields in described:
        seen.setdefault(line.partition(": ")[0], (line, fields))
    return list(seen.values())


def _source_of(fields: Sequence[str], source: str, overrides: Sequence[Override]) -> str:
    """The last override that set one of ``fields`` (or a table around or inside one),
    else ``source``."""
    for override in reversed(overrides):  # the last override of a key wins
        key = dotted([int(k) if k.isdigit() else k for k in override.keys])
        if any(_overlaps(field, key) for field in fields):
            return override.label
    return source


def _overlaps(field: str, key: str) -> bool:
    """Whether ``field`` is ``key``, lies inside it, or holds it."""
    return field == key or field.startswith((key + ".", key + "[")) or key.startswith(
        (field + ".", field + "[")
    )
