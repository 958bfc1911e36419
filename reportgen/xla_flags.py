"""The XLA flags a computation runs with: one definition for the runtime and the cache key.

No JAX here: the cache must know the flags (they are part of its key) before deciding
whether JAX is needed at all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DETERMINISTIC_GPU_FLAG = "--xla_gpu_deterministic_ops=true"


def flags_for(device: str, environ: Mapping[str, str] | None = None) -> str:
    """``XLA_FLAGS`` for a computation on ``device``: the user's, plus deterministic GPU ops
    off the CPU (XLA reads the variable once, when JAX starts its backends)."""
    flags = (os.environ if environ is None else environ).get("XLA_FLAGS", "")
    if device != "cpu" and "xla_gpu_deterministic_ops" not in flags:
        flags = f"{flags} {DETERMINISTIC_GPU_FLAG}".strip()
    return flags
