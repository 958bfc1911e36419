"""Count how often JAX traces a function, so property tests can forbid recompiles.

A Hypothesis test that makes JAX retrace on every example compiles hundreds of times and
turns a seconds-long suite into minutes, without failing. ``counted_jit`` puts a Python
counter inside the traced function (Python code runs only while tracing), in the spirit
of ``chex.assert_max_traces``; a test asserts ``traces <= k`` after each example.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax


class CountedJit:
    """A jitted function that knows how many times JAX has traced it."""

    def __init__(self, fun: Callable[..., Any], **jit_kwargs: Any) -> None:
        self.traces = 0
        self.__name__ = getattr(fun, "__name__", "counted")

        @functools.wraps(fun)
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.traces += 1
            return fun(*args, **kwargs)

        self._jitted = jax.jit(counted, **jit_kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._jitted(*args, **kwargs)

    def assert_max_traces(self, limit: int) -> None:
        """Fail when the function was traced more than ``limit`` times (a recompile leak)."""
        assert self.traces <= limit, (
            f"{self.__name__} was traced {self.traces} times (at most {limit} expected): "
            "a shape, dtype or static argument changes between examples"
        )


def counted_jit(fun: Callable[..., Any], **jit_kwargs: Any) -> CountedJit:
    """``jax.jit(fun, **jit_kwargs)`` with a trace counter.

    For a function the package already jits, pass its ``__wrapped__`` Python function and
    the same static arguments: the traced code is the package's own.
    """
    if hasattr(fun, "lower") and hasattr(fun, "__wrapped__"):  # already a jax.jit object
        fun = fun.__wrapped__
    return CountedJit(fun, **jit_kwargs)
