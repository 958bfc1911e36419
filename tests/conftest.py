"""Shared test setup: Hypothesis profiles and the JAX precision the suite runs in."""

from __future__ import annotations

import os
import shutil
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

# Keep the tests' result and compilation caches out of the user's cache directory, and share
# them between the worker processes of one run: the process that starts the run makes the
# folder and its workers (pytest-xdist starts them after this runs) inherit it, so a handout
# one worker computed or drew is a cache hit for the other, and each is built once.
_MADE_HERE = "REPORTGEN_TEST_RUN_DIR" not in os.environ
if _MADE_HERE:
    os.environ["REPORTGEN_TEST_RUN_DIR"] = tempfile.mkdtemp(prefix="reportgen-test-run-")
_SHARED = Path(os.environ["REPORTGEN_TEST_RUN_DIR"])
os.environ.setdefault("REPORTGEN_CACHE_DIR", str(_SHARED / "cache"))
os.environ.setdefault("REPORTGEN_TEST_SHARED", str(_SHARED / "built"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The process that made the run's folder removes it."""
    if _MADE_HERE:
        shutil.rmtree(_SHARED, ignore_errors=True)


@pytest.fixture(scope="session")
def course_batch() -> Path:
    """The shared four-student course, batched once per run (tests/course_fixture.py)."""
    from course_fixture import build_course
    from results_fixture import shared_build

    return shared_build("course", build_course) / "batch"
