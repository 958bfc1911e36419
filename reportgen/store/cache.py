"""The compute cache: results keyed by what determines them, so re-renders skip JAX.

The key hashes the digest of the config's numbers (``Config.numbers_digest``: the
normalised config less its presentation, computed by the caller, so the cache never sees
a config), reportgen's version, the source of every module the compute layer depends on
(found from its imports, ``reportgen.codebase``: the numerics code and the config modules that
define numbers, not the message text or the TOML reading and writing), the installed
jax, jaxlib and CUDA-plugin versions, JAX_PLATFORMS and the requested device's XLA_FLAGS.
A hit returns results.json's text, the large arrays and the compute environment without
importing JAX at all.

Every entry carries the sha256 of its files; an entry that does not match them (edited,
truncated, half-written), or whose files are not what reportgen writes (results.json that
is not reportgen's results object, a file name with a folder in it), is a miss, and the
recomputed entry replaces it.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from reportgen import codebase as sources
from reportgen import xla_flags
from reportgen._version import __version__
from reportgen.layout import RESULTS_FILE
from reportgen.store import output
from reportgen.store.results import SCHEMA as RESULTS_SCHEMA

KEY_PACKAGES = ("jax", "jaxlib", "jax-cuda12-plugin", "jax-cuda13-plugin", "optax", "numpy")
ENTRY_FILE = "entry.json"
_KEY = re.compile(r"[0-9a-f]{64}")


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


@functools.cache
def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def compute_modules() -> list[str]:
    """The modules whose source determines the numbers: the compute layer and its imports."""
    return sources.dependencies(sources.modules_under("reportgen.numerics"))


def code_digest() -> str:
    """sha256 of the source of ``compute_modules()``."""
    return sources.code_digest("reportgen.numerics")


def key(numbers_digest: str, device: str) -> str:
    """sha256 over everything that determines a config's numbers: ``numbers_digest``
    (``Config.numbers_digest()``, which covers the device and precision) and the code,
    packages and environment that compute them on ``device``."""
    parts = {
        "config": numbers_digest,
        "reportgen": __version__,
        "code": code_digest(),
        "packages": {name: _version(name) for name in KEY_PACKAGES},
        "jax_platforms": os.environ.get("JAX_PLATFORMS", ""),
        "xla_flags": xla_flags.flags_for(device),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _entry_folder(cache_dir: Path, entry_key: str) -> Path:
    """The folder of the entry under ``entry_key``: a sha256 in hex, never a path."""
    if not _KEY.fullmatch(entry_key):
        raise ValueError(f"expected a cache key from cache.key(), got {entry_key!r}")
    return cache_dir / "results" / entry_key


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _array_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _is_entry_file(name: object) -> bool:
    """results.json or a plain ``NAME.npy``: never a path into another folder."""
    if not isinstance(name, str):
        return False
    plain = bool(name) and "/" not in name and "\\" not in name and not name.startswith(".")
    return name == RESULTS_FILE or (plain and name.endswith(".npy"))


def load(cache_dir: Path, entry_key: str) -> Entry | None:
    """The computation cached under ``entry_key`` (from ``key``), or None: also for an entry
    that fails its digests or does not hold what reportgen writes (``store`` replaces it)."""
    folder = _entry_folder(cache_dir, entry_key)
    try:
        record = json.loads((folder / ENTRY_FILE).read_text(encoding="utf-8"))
        files: Mapping[str, str] = record["files"]
        environment = record["environment"]
        if not (isinstance(files, dict) and isinstance(environment, dict)
                and RESULTS_FILE in files and all(map(_is_entry_file, files))):
            return None
        blobs = {name: (folder / name).read_bytes() for name in files}
        if any(_sha256(blobs[name]) != digest for name, digest in files.items()):
            return None
        results_text = blobs[RESULTS_FILE].decode("utf-8")
        results = json.loads(results_text)
        if not isinstance(results, dict) or results.get("schema") != RESULTS_SCHEMA:
            return None
        arrays = {
            name: np.load(io.BytesIO(data), allow_pickle=False)
            for name, data in blobs.items() if name.endswith(".npy")
        }
        return Entry(results_text, arrays, dict(environment))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None  # UnicodeDecodeError and JSONDecodeError are ValueErrors


def store(cache_dir: Path, entry_key: str, entry: Entry) -> None:
    """Save a computation under ``entry_key`` (from ``key``), replacing any entry there;
    never fatal."""
    folder = _entry_folder(cache_dir, entry_key)
    blobs = {RESULTS_FILE: entry.results_text.encode("utf-8")}
    blobs.update({name: _array_bytes(array) for name, array in entry.arrays.items()})
    record = {"files": {name: _sha256(data) for name, data in sorted(blobs.items())},
              "environment": entry.environment}
    staged: Path | None = None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
        for name, data in blobs.items():
            (staged / name).write_bytes(data)
        (staged / ENTRY_FILE).write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
        _install(staged, folder)
        staged = None
    except OSError:
        return
    finally:
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)


def _install(staged: Path, folder: Path) -> None:
    """Move ``staged`` to ``folder``, retiring a stale entry there first."""
    try:
        staged.rename(folder)
        return
    except OSError:
        if not folder.exists():
            raise
    retired = Path(tempfile.mkdtemp(prefix=".old-", dir=folder.parent))
    folder.rename(retired / "entry")
    staged.rename(folder)
    shutil.rmtree(retired, ignore_errors=True)


class FigureStore:
    """Drawn figures on disk (``cache_dir/figures/<digest>.json``), each with its sha256:
    an entry that does not match is a miss. Writing is best effort, never fatal."""

    def __init__(self, cache_dir: Path) -> None:
        self.folder = cache_dir / "figures"

    def get(self, key: str) -> str | None:
        """The figures stored under ``key``, or None."""
        try:
            record = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
            text = record["figures"]
            if _sha256(text.encode("utf-8")) != record["sha256"]:
                return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        return str(text)

    def put(self, key: str, text: str) -> None:
        """Store ``text`` under ``key``."""
        record = json.dumps({"sha256": _sha256(text.encode("utf-8")), "figures": text})
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            output.replace_file(self.folder / f"{key}.json", record.encode("utf-8"))
        except OSError:
            return
