"""The XLA flags a computation runs with: one definition for the runtime, the cache key and
the manifest.

No JAX here: the cache must know the flags (they are part of its key) before deciding
whether JAX is needed at all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DETERMINISTIC_GPU_FLAG = "--xla_gpu_deterministic_ops=true"


def flags_for(device: str, environ: Mapping[str, str] | None = None) -> str:
    """``XLA_FLAGS`` for a computation on ``device``: the user's, plus deterministic GPU ops
    off the CPU (XLA reads the variable once, when JAX starts its backends).

    The deterministic-GPU flag that ``apply`` adds is dropped for the CPU, where it does
    nothing: left in the environment by an earlier ``auto`` computation of this process,
    or inherited from one by a child process, it must not enter a CPU build's manifest and
    cache key.
    """
    flags = (os.environ if environ is None else environ).get("XLA_FLAGS", "")
    if DETERMINISTIC_GPU_FLAG in flags.split():
        flags = " ".join(flag for flag in flags.split() if flag != DETERMINISTIC_GPU_FLAG)
    if device != "cpu" and "xla_gpu_deterministic_ops" not in flags:
        flags = f"{flags} {DETERMINISTIC_GPU_FLAG}".strip()
    return flags


def apply(device: str) -> None:
    """Set ``XLA_FLAGS`` in this process's environment for ``device`` (once it differs)."""
    flags = flags_for(device)
    if device != "cpu" and flags != os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = flags
