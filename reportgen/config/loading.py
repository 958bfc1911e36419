"""A config from a path or a shipped handout's name, with overrides applied: read, then
validated (``load``), or kept raw for variants to be made from it (``read_source``)."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from reportgen.config.overrides import Override, apply_override, overrides_from
from reportgen.config.reading import read_toml, resolve_path
from reportgen.config.schema import Config
from reportgen.config.validation import validate


class Source(NamedTuple):
    """A config as read, before validation: its file, raw TOML data and overrides."""

    path: Path
    raw: dict[str, Any]
    overrides: list[Override]

    def with_overrides(self, extra: Sequence[Override]) -> Config:
        """The validated config with ``extra`` applied over the file and its overrides."""
        raw = copy.deepcopy(self.raw)
        for override in extra:
            apply_override(raw, override.keys, override.value, override.label)
        return validate(raw, source=self.path.name, overrides=[*self.overrides, *extra])


def read_source(
    spec: str | os.PathLike[str] | None = None,
    overrides: Sequence[str] | Mapping[str, Any] = (),
) -> Source:
    """Read a config (path or shipped handout name) and apply ``overrides``, unvalidated."""
    path = resolve_path(spec)
    raw = read_toml(path)
    parsed = overrides_from(overrides)
    for override in parsed:
        apply_override(raw, override.keys, override.value)
    return Source(path, raw, parsed)


def load(
    spec: str | os.PathLike[str] | None = None,
    overrides: Sequence[str] | Mapping[str, Any] = (),
) -> Config:
    """Read, override and validate a config given as a path or shipped handout name.

    ``overrides`` are ``--set`` texts (``"runs.0.learning_rate=0.3"``) or a mapping of
    dotted keys to values (``{"runs.0.learning_rate": 0.3}``).
    """
    source = read_source(spec, overrides)
    return validate(source.raw, source=source.path.name,
                    overrides=source.overrides).named(source.path.stem)
