"""Shared test setup: Hypothesis profiles and the JAX precision the suite runs in."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from reportgen.numerics import runtime

# deadline=None everywhere: Hypothesis would otherwise time a JAX function's first call,
# compile included.
settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough", max_examples=1000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# The suite computes in float64 with the highest matmul precision, as the pipeline does:
# set explicitly, once (no module sets it on import).
runtime.configure_jax("cpu")

# Keep the tests' result and compilation caches out of the user's cache directory.
os.environ.setdefault("REPORTGEN_CACHE_DIR", tempfile.mkdtemp(prefix="reportgen-test-cache-"))


@pytest.fixture(scope="session")
def course_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared four-student course, batched once per session (tests/course_fixture.py)."""
    from course_fixture import build_course

    return build_course(tmp_path_factory.mktemp("course"))
