"""The compute cache: results keyed by what determines them, so re-renders skip JAX.

The key hashes the normalised config, reportgen's version and compute source, the
installed jax, jaxlib and CUDA-plugin versions, the requested device, JAX_PLATFORMS and
XLA_FLAGS, and the precision. A hit returns results.json's text, the large arrays and the compute
environment without importing JAX at all. JAX's persistent compilation cache lives
beside it, so a first GPU call does not pay seconds of compile on every run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from reportgen import __version__
from reportgen.config import Config

#: The modules whose code determines the numbers: their source is part of the key, so a
#: changed checkout never reads stale results.
COMPUTE_MODULES = (
    "config.py", "data.py", "model.py", "optimize.py", "surface.py", "sharding.py",
    "diagnostics.py", "experiment.py", "results.py",
)
KEY_PACKAGES = ("jax", "jaxlib", "jax-cuda12-plugin", "jax-cuda13-plugin", "optax", "numpy")


class Entry(NamedTuple):
    """A cached computation."""

    results_text: str
    arrays: dict[str, np.ndarray]
    environment: dict[str, Any]


def default_dir() -> Path:
    """``$REPORTGEN_CACHE_DIR``, else the user cache directory (XDG) / reportgen."""
    if os.environ.get("REPORTGEN_CACHE_DIR"):
        return Path(os.environ["REPORTGEN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "reportgen"


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def code_digest() -> str:
    """sha256 of the compute modules' source."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for name in COMPUTE_MODULES:
        path = package / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def key(config: Config) -> str:
    """sha256 over everything that determines a config's numbers."""
    parts = {
        "config": config.digest(),
        "reportgen": __version__,
        "code": code_digest(),
        "packages": {name: _version(name) for name in KEY_PACKAGES},
        "device": config.device,
        "precision": config.precision,
        "jax_platforms": os.environ.get("JAX_PLATFORMS", ""),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def load(cache_dir: Path, config: Config) -> Entry | None:
    """The cached computation of ``config``, or None."""
    folder = cache_dir / "results" / key(config)
    try:
        text = (folder / "results.json").read_text(encoding="utf-8")
        environment = json.loads((folder / "environment.json").read_text(encoding="utf-8"))
        arrays = {
            path.name: np.load(path, allow_pickle=False) for path in sorted(folder.glob("*.npy"))
        }
    except (OSError, ValueError):
        return None
    return Entry(text, arrays, environment)


def store(cache_dir: Path, config: Config, entry: Entry) -> None:
    """Save a computation; a cache that cannot be written is skipped, never fatal."""
    folder = cache_dir / "results" / key(config)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
        (staged / "results.json").write_text(entry.results_text, encoding="utf-8")
        (staged / "environment.json").write_text(
            json.dumps(entry.environment, sort_keys=True), encoding="utf-8"
        )
        for name, array in entry.arrays.items():
            with (staged / name).open("wb") as handle:
                np.save(handle, array, allow_pickle=False)
        if folder.exists():
            shutil.rmtree(staged)
        else:
            staged.rename(folder)
    except OSError:
        return


def enable_compilation_cache(cache_dir: Path) -> None:
    """Point JAX's persistent compilation cache into the reportgen cache."""
    import jax

    if getattr(jax.config, "jax_compilation_cache_dir", None):
        return  # JAX reads the setting once per process; keep the first one
    path = cache_dir / "jax"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
