"""Variants from one config: the ``[matrix]`` table and ``--matrix KEY=V1,V2`` options.

Every combination of the listed values (``mode = "product"``, the default) or the values
taken element-wise (``mode = "zip"``) becomes one variant. A variant's config is exactly
what a single build with the same ``--set`` values gives; its id is a readable slug of
its values plus a short hash of its normalised config, so it is stable across runs.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reportgen.config import (
    Config,
    ConfigError,
    Override,
    Source,
    StudentConfig,
    parse_key,
    parse_toml,
)

#: A batch may hold at most this many variants (each is a full handout).
MAX_VARIANTS = 5_000
#: Variant ids stay well inside a file name's 255 bytes.
MAX_ID_LENGTH = 64


@dataclass(frozen=True)
class Variant:
    """One handout of a batch.

    Attributes:
      id: the folder name: a slug of ``values`` and a hash of the config.
      values: what sets it apart, by dotted key (matrix values, drawn student values).
      config: the variant's validated config.
      student: the student it is for, in a per-student batch.
      redraws: how many draws its constraints rejected before this one.
      copy: in a course (a batch with exercises or a roster), whose copy it is:
        ``"student"`` or ``"instructor"`` (``course.copies``); None otherwise.
    """

    id: str
    values: dict[str, Any]
    config: Config
    student: StudentConfig | None = None
    redraws: int = 0
    overrides: tuple[Override, ...] = field(default=(), repr=False)
    copy: str | None = None


def parse_option(text: str) -> tuple[str, list[Any]]:
    """``KEY=V1,V2,...`` from the command line: each value read as TOML, else as text."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise ConfigError(f"--matrix {text}: expected KEY=V1,V2,... "
                          f"(e.g. runs.0.learning_rate=0.02,0.1,0.5)")
    try:
        parsed = parse_toml(f"v = [{values}]")["v"]
    except ConfigError:  # not TOML (or nested too deeply to read as TOML): plain text
        parsed = [part.strip() for part in values.split(",")]
    if not parsed or any(part == "" for part in parsed):
        raise ConfigError(f"--matrix {text}: expected a comma-separated list of values")
    return key, parsed


def axes(config: Config, options: Sequence[str] = ()) -> tuple[dict[str, list[Any]], str]:
    """The matrix's keys and values (``--matrix`` options replace the config's), and its mode."""
    table = dict(config.matrix or {})
    mode = str(table.pop("mode", "product"))
    found: dict[str, list[Any]] = {key: list(values) for key, values in table.items()}
    for text in options:
        key, values = parse_option(text)
        found[key] = values
    return found, mode


def combinations(found: Mapping[str, list[Any]], mode: str) -> list[dict[str, Any]]:
    """Every variant's values: the product of the axes, or their element-wise zip."""
    if not found:
        return [{}]
    keys = list(found)
    if mode == "zip":
        lengths = {len(values) for values in found.values()}
        if len(lengths) > 1:
            sizes = ", ".join(f"{key}: {len(values)}" for key, values in found.items())
            raise ConfigError(f"matrix: mode \"zip\" needs arrays of one length, got {sizes}")
        rows = list(zip(*found.values(), strict=True))
        if len(rows) > MAX_VARIANTS:
            raise ConfigError(f"matrix: expected at most {MAX_VARIANTS} variants, "
                              f"got {len(rows)}")
    else:
        count = 1
        for values in found.values():
            count *= len(values)
        if count > MAX_VARIANTS:
            raise ConfigError(f"matrix: expected at most {MAX_VARIANTS} variants, got {count}")
        rows = list(itertools.product(*found.values()))
    return [dict(zip(keys, row, strict=True)) for row in rows]


def overrides_for(values: Mapping[str, Any], label: str = "matrix") -> list[Override]:
    """The matrix values of one variant as overrides, each blamed on its matrix entry."""
    return [Override(parse_key(key, f'{label}."{key}"'), value,
                     f'{label}."{key}" = {value!r}') for key, value in values.items()]


def _slug_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "-".join(_slug_value(item) for item in value)
    return str(value)


def slug(values: Mapping[str, Any]) -> str:
    """A readable, file-name-safe slug of a variant's values: ``learning_rate-0.02_noise-0.5``."""
    parts = [f"{key.split('.')[-1]}-{_slug_value(value)}" for key, value in values.items()]
    text = re.sub(r"[^A-Za-z0-9._+-]+", "-", "_".join(parts))
    text = re.sub(r"-{2,}", "-", text).strip("-._")
    return text[: MAX_ID_LENGTH - 9] or "base"


def variant_id(values: Mapping[str, Any], config: Config, prefix: str = "") -> str:
    """``<prefix><slug>-<first 8 hex digits of the config's sha256>``."""
    head = slug(values) if values else "base"
    if prefix:
        head = f"{prefix}_{head}" if values else prefix
        head = head[: MAX_ID_LENGTH - 9]
    return f"{head}-{config.digest()[:8]}"


def expand(source: Source, config: Config, options: Sequence[str] = ()) -> list[Variant]:
    """The matrix variants of ``config`` (read from ``source``): one per combination.

    Raises:
      ConfigError: a bad key or value, named as the matrix entry or ``--matrix`` option.
    """
    found, mode = axes(config, options)
    cli_keys = {parse_option(text)[0] for text in options}
    variants = []
    for values in combinations(found, mode):
        extra = [
            Override(o.keys, o.value, f"--matrix {'.'.join(o.keys)}={o.value!r}")
            if ".".join(o.keys) in cli_keys else o
            for o in overrides_for(values)
        ]
        variant = source.with_overrides(extra)
        variants.append(Variant(variant_id(values, variant), dict(values),
                                variant.named(config.name), overrides=tuple(extra)))
    _check_unique(variants)
    return variants


def _check_unique(variants: Sequence[Variant]) -> None:
    seen: dict[str, Variant] = {}
    for variant in variants:
        if variant.id in seen:
            raise ConfigError(f"matrix: two variants give the same config ({variant.id}); "
                              f"expected every combination to differ")
        seen[variant.id] = variant
