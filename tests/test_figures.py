"""Figures: deterministic SVG, every run drawn, nothing non-finite in the path data."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from results_fixture import LEARNING_RATE_RUNS, make_results

from reportgen import figures
from reportgen.figures import make_figures

TESTS = Path(__file__).resolve().parent
NON_FINITE = re.compile(r"\b(nan|inf|infinity)\b", re.IGNORECASE)


def _svgs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "figures").glob("*.svg"))}


def _path_data(svg: str) -> list[str]:
    """Every coordinate-bearing attribute of the SVG (path data, points, positions)."""
    return re.findall(r'\s(?:d|points|x|y|x1|x2|y1|y2|cx|cy|transform)="([^"]*)"', svg)


@pytest.fixture(scope="module")
def default_figures(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("figs")
    return folder, make_figures(make_results(), folder)


@pytest.fixture(autouse=True)
def _style() -> object:
    """The figure style, for tests that call single figure functions."""
    import matplotlib as mpl

    with mpl.rc_context(figures.STYLE):
        yield


def test_default_handout_has_every_figure(default_figures: tuple[Path, dict]) -> None:
    folder, drawn = default_figures
    assert list(drawn) == ["data", "surface", "fits-1", "fits-2", "contour",
                             "trajectories-3d", "loss", "learning-rates"]
    assert [f.number for f in drawn.values()] == list(range(1, len(drawn) + 1))
    for fig in drawn.values():
        assert (folder / fig.filename).read_text(encoding="utf-8") == fig.svg
        assert fig.svg.lstrip().startswith("<?xml") and "<svg" in fig.svg
        assert len(fig.alt) > 40 and len(fig.caption) > 40
        assert fig.data_uri.startswith("data:image/svg+xml;base64,")
        assert fig.width_pt > 100 and fig.height_pt > 100


def test_figures_are_small_because_dense_artists_are_rasterized(
        default_figures: tuple[Path, dict]) -> None:
    _, drawn = default_figures
    for name in ("surface", "trajectories-3d", "contour"):
        assert "<image" in drawn[name].svg, name  # the surface is an embedded bitmap
    total = sum(len(f.svg) for f in drawn.values())
    assert total < 1_500_000, f"{total} bytes of SVG"


def test_same_bytes_twice_in_one_process(tmp_path: Path,
                                         default_figures: tuple[Path, dict]) -> None:
    folder, _ = default_figures
    make_figures(make_results(), tmp_path)
    assert _svgs(tmp_path) == _svgs(folder)


def test_same_bytes_in_a_fresh_process(tmp_path: Path, default_figures: tuple[Path, dict]) -> None:
    folder, _ = default_figures
    code = ("import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
            "from results_fixture import make_results; from reportgen.figures import make_figures;"
            "make_figures(make_results(), Path(sys.argv[2]))")
    subprocess.run([sys.executable, "-c", code, str(TESTS), str(tmp_path)], check=True,
                   timeout=120)
    assert _svgs(tmp_path) == _svgs(folder)


def test_divergent_and_overflowing_runs_draw_no_nan(tmp_path: Path) -> None:
    results = make_results(LEARNING_RATE_RUNS, sweep=True)
    overflowed = results["runs"][-1]
    assert overflowed["diverged"] and overflowed["final_theta"] is None
    assert any(v is None for v in overflowed["losses"])  # the fixture really overflows
    drawn = make_figures(results, tmp_path)
    assert "sweep" in drawn and "fits-5" in drawn
    for fig in drawn.values():
        for value in _path_data(fig.svg):
            assert not NON_FINITE.search(value), f"{fig.name}: {value[:120]}"
        numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?",
                                                " ".join(_path_data(fig.svg)))]
        assert max(map(abs, numbers)) < 1e7, fig.name  # clipped, not drawn off to 1e300


def test_surface_read_from_loss_file(tmp_path: Path) -> None:
    t0, t1, grid_read = figures._surface_grid(_with_loss_file(tmp_path), tmp_path)
    assert grid_read.shape == (len(t1), len(t0)) == (100, 100)


def _with_loss_file(tmp_path: Path) -> dict:
    results = make_results()
    np.save(tmp_path / "surface.npy", np.asarray(results["surface"]["loss"], dtype=np.float64))
    results["surface"]["loss"] = None
    results["surface"]["loss_file"] = "surface.npy"
    return results


def test_surface_figures_from_loss_file(tmp_path: Path) -> None:
    results = _with_loss_file(tmp_path)
    for draw in (figures._fig_surface, figures._fig_contour):
        drawn = draw(results, tmp_path)
        assert drawn.figure.axes  # drew from the .npy grid without error


def test_large_data_without_points(tmp_path: Path) -> None:
    results = make_results()
    results["data"]["x"] = results["data"]["y"] = None
    results["data"]["n"] = 1_000_000
    assert "too many to draw" in figures._fig_data(results).caption
