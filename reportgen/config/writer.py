"""The normalised config written back as TOML: embedded in every report (config.toml and
the PDF's attachment) so that a handout can be re-derived and verified."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reportgen.config.schema import Config
from reportgen.config.spelling import toml_string


def dump_toml(config: Config) -> str:
    """The normalised config as TOML (embedded in reports so they can be re-derived)."""
    return _to_toml(config.normalised())


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _to_toml(data: Mapping[str, Any]) -> str:
    """Plain values first, then each table and array of tables, as TOML requires."""
    lines: list[str] = []
    tables: list[str] = []
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, dict):
            tables.append(f"\n[{key}]\n" + _to_toml(value))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            tables.extend(f"\n[[{key}]]\n" + _to_toml(item) for item in value)
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + ("\n" if lines else "") + "".join(tables)
