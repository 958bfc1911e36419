"""The XLA flags a computation runs with: one definition for the runtime, the cache key and
the manifest.

No JAX here: the cache must know the flags (they are part of its key) before deciding
whether JAX is needed at all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DETERMINISTIC_GPU_FLAG = "--xla_gpu_deterministic_ops=true"

#: ``XLA_FLAGS`` as the user set it, kept by the first ``apply`` before it adds to the
#: variable; ``None`` until then (the environment is still the user's own).
_user_flags: str | None = None


def user_flags(environ: Mapping[str, str] | None = None) -> str:
    """The user's ``XLA_FLAGS``: without what ``apply`` added for an earlier computation of
    this process (a GPU flag left by an ``auto`` build must not follow a CPU build into its
    manifest and cache key)."""
    if environ is not None:
        return environ.get("XLA_FLAGS", "")
    return os.environ.get("XLA_FLAGS", "") if _user_flags is None else _user_flags


def flags_for(device: str, environ: Mapping[str, str] | None = None) -> str:
    """``XLA_FLAGS`` for a computation on ``device``: the user's, plus deterministic GPU ops
    off the CPU (XLA reads the variable once, when JAX starts its backends)."""
    flags = user_flags(environ)
    if device != "cpu" and "xla_gpu_deterministic_ops" not in flags:
        flags = f"{flags} {DETERMINISTIC_GPU_FLAG}".strip()
    return flags


def apply(device: str) -> str:
    """Set ``XLA_FLAGS`` in this process's environment for ``device``; the flags set."""
    global _user_flags
    if _user_flags is None:
        _user_flags = os.environ.get("XLA_FLAGS", "")
    flags = flags_for(device)
    if flags != os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = flags
    return flags
