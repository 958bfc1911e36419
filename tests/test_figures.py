"""Figures: deterministic SVG, every run drawn, nothing non-finite in the path data."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from results_fixture import LEARNING_RATE_RUNS, make_results

from reportgen.render.figures import make_figures
from reportgen.render.figures.data import draw_data
from reportgen.render.figures.reading import surface_grid
from reportgen.render.figures.style import STYLE
from reportgen.render.figures.surface import draw_contour, draw_surface
from reportgen.store.results import Results

TESTS = Path(__file__).resolve().parent
NON_FINITE = re.compile(r"\b(nan|inf|infinity)\b", re.IGNORECASE)


def _svgs(drawn: dict) -> dict[str, str]:
    return {fig.filename: fig.svg for fig in drawn.values()}


def _path_data(svg: str) -> list[str]:
    """Every coordinate-bearing attribute of the SVG (path data, points, positions)."""
    return re.findall(r'\s(?:d|points|x|y|x1|x2|y1|y2|cx|cy|transform)="([^"]*)"', svg)


@pytest.fixture(scope="module")
def default_figures() -> dict:
    return make_figures(make_results())


@pytest.fixture(autouse=True)
def _style() -> object:
    """The figure style, for tests that call single figure functions."""
    import matplotlib as mpl

    with mpl.rc_context(STYLE):
        yield


def test_default_handout_has_every_figure(default_figures: dict) -> None:
    drawn = default_figures
    assert list(drawn) == ["data", "surface", "fits-1", "fits-2", "contour",
                             "trajectories-3d", "loss", "learning-rates"]
    assert [f.number for f in drawn.values()] == list(range(1, len(drawn) + 1))
    for fig in drawn.values():
        assert fig.filename == f"figures/{fig.name}.svg"
        assert fig.svg.lstrip().startswith("<?xml") and "<svg" in fig.svg
        assert len(fig.alt) > 40 and len(fig.caption) > 40
        assert fig.data_uri.startswith("data:image/svg+xml;base64,")
        assert fig.width_pt > 100 and fig.height_pt > 100


def test_figures_are_small_because_dense_artists_are_rasterized(default_figures: dict) -> None:
    drawn = default_figures
    for name in ("surface", "trajectories-3d", "contour"):
        assert "<image" in drawn[name].svg, name  # the surface is an embedded bitmap
    total = sum(len(f.svg) for f in drawn.values())
    assert total < 1_500_000, f"{total} bytes of SVG"


def test_same_bytes_twice_in_one_process(default_figures: dict) -> None:
    assert _svgs(make_figures(make_results())) == _svgs(default_figures)


def test_same_bytes_in_a_fresh_process(tmp_path: Path, default_figures: dict) -> None:
    code = ("import sys, json; sys.path.insert(0, sys.argv[1]);"
            "from results_fixture import make_results;"
            "from reportgen.render.figures import make_figures;"
            "drawn = make_figures(make_results());"
            "print(json.dumps({f.filename: f.svg for f in drawn.values()}))")
    out = subprocess.run([sys.executable, "-c", code, str(TESTS)], check=True, timeout=180,
                         capture_output=True, text=True).stdout
    assert json.loads(out) == _svgs(default_figures)


def test_divergent_and_overflowing_runs_draw_no_nan(tmp_path: Path) -> None:
    results = make_results(LEARNING_RATE_RUNS, sweep=True)
    overflowed = results.runs[-1]
    assert overflowed.diverged and overflowed.final_theta is None
    assert np.isnan(overflowed.losses).any()  # the fixture really overflows (null in JSON)
    assert None in results.to_dict()["runs"][-1]["losses"]
    drawn = make_figures(results)
    assert "sweep" in drawn and "fits" in drawn  # five runs: one grid of small multiples
    for fig in drawn.values():
        for value in _path_data(fig.svg) + _path_data(fig.narrow_svg or ""):
            assert not NON_FINITE.search(value), f"{fig.name}: {value[:120]}"
        numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?",
                                                " ".join(_path_data(fig.svg)))]
        assert max(map(abs, numbers)) < 1e7, fig.name  # clipped, not drawn off to 1e300


def _with_loss_file() -> tuple[Results, dict[str, np.ndarray]]:
    """Results whose grid lives in surface.npy, holding a grid unlike the exact quadratic."""
    results = make_results()
    stored = results.surface.loss
    assert stored is not None
    marked = stored + 50.0 * np.eye(len(stored))  # a ridge the quadratic does not have
    surface = dataclasses.replace(results.surface, loss=None, loss_file="surface.npy")
    return dataclasses.replace(results, surface=surface), {"surface.npy": marked}


def test_surface_read_from_loss_file() -> None:
    results, arrays = _with_loss_file()
    _, _, grid = surface_grid(results, arrays)
    np.testing.assert_array_equal(grid, arrays["surface.npy"])
    _, _, without = surface_grid(results, {})  # no file: the exact quadratic instead
    assert not np.allclose(without, arrays["surface.npy"])


@pytest.mark.parametrize("draw", [draw_surface, draw_contour])
def test_surface_figures_draw_the_loss_file(draw: object) -> None:
    results, arrays = _with_loss_file()
    from_file = draw(results, arrays)  # type: ignore[operator]
    from_quadratic = draw(results, {})  # type: ignore[operator]
    name = draw.__name__  # type: ignore[attr-defined]
    from reportgen.render.figures.style import svg_text

    assert svg_text(from_file.figure, name) != svg_text(from_quadratic.figure, name)


def test_large_data_without_points(tmp_path: Path) -> None:
    results = make_results()
    data = dataclasses.replace(results.data, x=None, y=None, n=1_000_000)
    assert "too many to draw" in draw_data(dataclasses.replace(results, data=data)).caption


def test_raster_parts_are_at_print_resolution(default_figures: dict) -> None:
    """Rasterized artists (surfaces, filled contours, dense scatters) at >= 200 ppi."""
    import base64
    import io

    from PIL import Image

    for fig in default_figures.values():
        for width, data in re.findall(r'<image[^>]*?width="([\d.]+)"[^>]*?'
                                      r'xlink:href="data:image/png;base64,([^"]+)"', fig.svg):
            pixels = Image.open(io.BytesIO(base64.b64decode(data))).size[0]
            assert pixels / (float(width) / 72) >= 199, fig.name


def test_small_multiples_have_a_narrow_variant_for_phones(default_figures: dict) -> None:
    assert default_figures["fits-1"].narrow_svg and default_figures["fits-2"].narrow_svg
    assert default_figures["contour"].narrow_svg is None
    assert default_figures["fits-1"].narrow_data_uri.startswith("data:image/svg+xml;base64,")


def test_figures_say_eta_and_plot_only_what_their_curves_describe() -> None:
    from results_fixture import optimizer_results

    drawn = make_figures(optimizer_results())
    rates = drawn["learning-rates"].svg
    assert "η = 0.1" in rates and "lr " not in rates
    assert rates.count("own factor") == 2  # momentum and Nesterov on their own curves
    assert "Adam run has no such factor" in drawn["learning-rates"].caption  # its name
    assert "Excess loss above the floor" in drawn["loss"].svg


def test_divergence_is_marked_where_it_began_and_off_chart_lines_say_so() -> None:
    drawn = make_figures(make_results(LEARNING_RATE_RUNS, sweep=True))
    assert "divergence begins" in drawn["loss"].svg
    assert "last finite value" not in drawn["loss"].svg
    assert "line off the chart" in drawn["fits"].svg
    assert "leaves this window at step" in drawn["trajectories-3d"].svg
    assert "descends towards" not in drawn["trajectories-3d"].alt
    assert "diverged (final loss off the scale)" in drawn["sweep"].svg
    assert "logarithmic axes" in drawn["sweep"].alt


# ---------------------------------------------------------------- user text and long runs


@pytest.mark.parametrize("name", ["price $5 and $6", r"cost $\frac{1 in $USD"])
def test_run_names_are_text_not_mathtext(name: str) -> None:
    """A ``$`` in a name is a dollar: never parsed (or failed) as matplotlib mathtext."""
    results = make_results([{"name": name, "learning_rate": 0.1, "epochs": 3,
                             "batch_size": None}])
    drawn = make_figures(results)
    for figure in ("contour", "trajectories-3d", "loss"):
        assert f"{name} (η = 0.1)" in drawn[figure].svg, figure


def _markers_and_vertices(svg: str) -> tuple[int, int]:
    """Marker instances (``<use``) and path vertices in an SVG."""
    vertices = sum(len(re.findall(r"[ML]\s", d)) for d in re.findall(r'\sd="([^"]*)"', svg))
    return svg.count("<use "), vertices


def test_long_runs_are_thinned_for_drawing() -> None:
    """200,000 steps, one run converging and one diverging: small figures all the same."""
    from reportgen.render.figures.style import MAX_DRAWN_POINTS

    steps = 200_000
    results = make_results([
        {"name": "long", "learning_rate": 0.1, "epochs": steps, "batch_size": None},
        {"name": "diverging", "learning_rate": 0.5, "epochs": steps, "batch_size": None},
    ])
    assert len(results.runs[0].losses) == steps + 1  # results keep every step
    drawn = make_figures(results)
    for name in ("contour", "trajectories-3d", "loss"):
        markers, vertices = _markers_and_vertices(drawn[name].svg)
        assert markers < 3 * MAX_DRAWN_POINTS and vertices < 8 * MAX_DRAWN_POINTS, name
    assert sum(len(f.svg) for f in drawn.values()) < 1_500_000


def test_thinning_keeps_the_ends_and_the_divergence() -> None:
    from reportgen.render.figures.reading import drawn_steps, thinned
    from reportgen.render.figures.style import MAX_DRAWN_POINTS

    assert thinned(MAX_DRAWN_POINTS) is None  # short lines are drawn point for point
    picks = thinned(10 * MAX_DRAWN_POINTS + 7, keep=[12_345])
    assert picks is not None
    assert picks[0] == 0 and picks[-1] == 10 * MAX_DRAWN_POINTS + 6 and 12_345 in picks
    assert np.all(np.diff(picks) > 0) and len(picks) <= MAX_DRAWN_POINTS + 3
    losses = np.ones(100_000)
    losses[70_000:] = np.nan
    run = dataclasses.replace(make_results().runs[0], diverged=True, diverged_step=65_432)
    drawn = drawn_steps(run, losses)
    assert drawn is not None and {65_432, 69_999, 70_000} <= set(drawn.tolist())
