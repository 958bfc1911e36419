"""JAX's global settings, set by one explicit call: never as a side effect of an import.

``configure_jax`` switches on 64-bit types (float64 is the default precision, and float32
runs still accumulate their sufficient statistics in float64) and the highest matmul
precision (TF32 on GPUs would change float32 results by ~1e-3), and asks XLA for
deterministic GPU kernels. ``x64`` scopes 64-bit types to a block, for code that must
draw the same numbers whatever was configured before it.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jax

from reportgen import xla_flags
from reportgen.config.errors import ConfigError

MATMUL_PRECISION = "highest"
#: Compilations faster than this are not worth a disk round trip.
PERSISTENT_CACHE_MIN_COMPILE_S = 0.2


def configure_jax(device: str = "auto") -> None:
    """Set 64-bit types, the matmul precision and (off the CPU) deterministic GPU kernels.

    Idempotent. The XLA flag takes effect only before JAX starts its GPU backend, so call
    this before the first computation of a process.
    """
    xla_flags.apply(device)
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_default_matmul_precision", MATMUL_PRECISION)


#: ``jax.enable_x64`` (jax >= 0.8), else its experimental predecessor (jax < 0.9).
_enable_x64: Any = getattr(jax, "enable_x64", None)
if _enable_x64 is None:  # pragma: no cover - jax < 0.8
    _enable_x64 = importlib.import_module("jax.experimental").enable_x64


@contextlib.contextmanager
def x64() -> Iterator[None]:
    """64-bit types inside the block, whatever the global setting is."""
    with _enable_x64(True):
        yield


def enable_compilation_cache(cache_dir: Path) -> None:
    """Point JAX's persistent compilation cache into ``cache_dir/jax`` (once per process)."""
    if getattr(jax.config, "jax_compilation_cache_dir", None):
        return  # JAX reads the setting once per process; keep the first one
    path = cache_dir / "jax"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs",
                      PERSISTENT_CACHE_MIN_COMPILE_S)


def select_device(requested: str) -> jax.Device:
    """The JAX device for ``auto``, ``cpu`` or ``gpu`` (auto takes a GPU when JAX sees one)."""
    if requested == "cpu":
        return jax.devices("cpu")[0]
    try:
        gpus = jax.devices("gpu")
    except RuntimeError:
        gpus = []
    if gpus:
        return gpus[0]
    if requested == "gpu":
        raise ConfigError(
            f"device: expected a GPU that JAX can see, found only {jax.default_backend()}"
        )
    return jax.devices("cpu")[0]


@contextlib.contextmanager
def on_device(requested: str) -> Iterator[jax.Device]:
    """Run the enclosed JAX work on the selected device."""
    device = select_device(requested)
    with jax.default_device(device):
        yield device


def environment(device: str, precision: str) -> dict[str, Any]:
    """Backend, device and XLA facts for the manifest (no host names, no timings)."""
    selected = select_device(device)
    return {
        "jax_backend": selected.platform,
        "device_kind": selected.device_kind,
        "device_requested": device,
        "precision": precision,
        "xla_flags": xla_flags.flags_for(device),
        "matmul_precision": str(
            getattr(jax.config, "jax_default_matmul_precision", None) or "default"
        ),
    }
