"""The layer rule: compute never imports rendering; rendering never imports JAX."""

from __future__ import annotations

import subprocess
import sys

import pytest

RENDERING = ("matplotlib", "jinja2", "weasyprint")


def _imported_after(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return {name.split(".")[0] for name in out.split()}


@pytest.mark.parametrize("module", ["reportgen.render", "reportgen.figures",
                                    "reportgen.mathtex", "reportgen.results"])
def test_rendering_never_imports_jax(module: str) -> None:
    assert "jax" not in _imported_after(module)


@pytest.mark.parametrize("module", ["reportgen.experiment", "reportgen.surface",
                                    "reportgen.optimize", "reportgen.sharding"])
def test_compute_never_imports_rendering(module: str) -> None:
    assert not set(RENDERING) & _imported_after(module)
