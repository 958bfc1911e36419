"""results.json: plain data in, canonical JSON out (no JAX here: renderers read this).

Numbers are written at full precision (``repr`` round-trips every float64); keys are
sorted; a non-finite number is written as ``null``, never as NaN or Infinity.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA = "reportgen.results/1"
RESULTS_FILE = "results.json"


def finite_or_none(value: Any) -> float | None:
    """A float, or None where it is NaN or infinite."""
    number = float(value)
    return number if math.isfinite(number) else None


def _array_to_plain(array: np.ndarray) -> Any:
    """A numeric array as nested lists, non-finite entries as None, in one vectorised pass."""
    if array.dtype.kind == "f":
        values = array.astype(np.float64).astype(object)
        values[~np.isfinite(array)] = None
        return values.tolist()
    if array.dtype.kind in "iub":
        return array.tolist()
    return [to_plain(v) for v in array.tolist()]


def to_plain(value: Any) -> Any:
    """Numpy arrays and scalars to lists and Python numbers; non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _array_to_plain(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return finite_or_none(value)
    return value


def dumps(results: dict[str, Any]) -> str:
    """Canonical JSON text: sorted keys, full-precision floats, no NaN or Infinity."""
    return json.dumps(to_plain(results), sort_keys=True, indent=1, allow_nan=False) + "\n"


def restamp(results: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Results computed for another presentation of the same numbers, relabelled: the
    normalised ``config`` recorded, and its run names (a cache entry serves every config
    with the same numbers; what the handout says comes from the config at hand)."""
    runs = [{**run, "name": spec["name"]}
            for run, spec in zip(results["runs"], config["runs"], strict=True)]
    return {**results, "config": config, "runs": runs}


def resolve(results: Any, path: str) -> Any:
    """The value at a dotted path of results.json (``ols.theta.1``: list items by index).

    Raises:
      KeyError: naming the first part of ``path`` that is not there.
    """
    where = results
    for part in path.split("."):
        if isinstance(where, list) and part.isdigit() and int(part) < len(where):
            where = where[int(part)]
        elif isinstance(where, dict) and part in where:
            where = where[part]
        else:
            raise KeyError(part)
    return where


def write(results: dict[str, Any], folder: Path) -> Path:
    """Write ``results.json`` into ``folder``."""
    path = folder / RESULTS_FILE
    path.write_text(dumps(results), encoding="utf-8")
    return path


def read(folder: Path) -> dict[str, Any]:
    """Read ``results.json`` from a report folder."""
    data: dict[str, Any] = json.loads((folder / RESULTS_FILE).read_text(encoding="utf-8"))
    return data
