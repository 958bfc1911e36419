"""Hypothesis strategies shared by the property suites: bounded float64 data."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def floats(bound: float) -> st.SearchStrategy[float]:
    """Finite float64 in [-bound, bound], no subnormals (XLA on CPU flushes them to zero)."""
    return st.floats(-bound, bound, allow_nan=False, allow_infinity=False, width=64,
                     allow_subnormal=False)


def samples(n: int, bound: float) -> st.SearchStrategy[np.ndarray]:
    """A fixed-length float64 vector: static shapes keep JAX from recompiling per example."""
    return hnp.arrays(np.float64, n, elements=floats(bound))
