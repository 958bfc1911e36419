"""Figures: deterministic SVG, every run drawn, nothing non-finite in the path data."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import ConnectionPatch
from matplotlib.text import Text
from results_fixture import LEARNING_RATE_RUNS, config_for, make_results, with_exercises

from reportgen.formatting import fmt_num
from reportgen.render.figures import draw_job, make_figures, plan
from reportgen.render.figures.data import draw_data
from reportgen.render.figures.reading import surface_grid
from reportgen.render.figures.style import NARROW_WIDTH_IN, STYLE, Drawn
from reportgen.render.figures.surface import draw_contour, draw_surface
from reportgen.render.format import in_sentence
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
    # the printed SVGs again, without the phone variants between them this time
    assert _svgs(make_figures(make_results(), phone=False)) == _svgs(default_figures)


def test_same_bytes_in_a_fresh_process(tmp_path: Path, default_figures: dict) -> None:
    code = ("import sys, json; sys.path.insert(0, sys.argv[1]);"
            "from results_fixture import make_results;"
            "from reportgen.render.figures import make_figures;"
            "drawn = make_figures(make_results(), phone=False);"
            "print(json.dumps({f.filename: f.svg for f in drawn.values()}))")
    out = subprocess.run([sys.executable, "-c", code, str(TESTS)], check=True, timeout=180,
                         capture_output=True, text=True).stdout
    assert json.loads(out) == _svgs(default_figures)


@pytest.fixture(scope="module")
def rates_figures() -> tuple[Results, dict]:
    """The five learning-rate runs (one overflows) with a sweep, and their figures."""
    results = make_results(LEARNING_RATE_RUNS, sweep=True)
    return results, make_figures(results)


def test_divergent_and_overflowing_runs_draw_no_nan(rates_figures: tuple[Results, dict]) -> None:
    results, drawn = rates_figures
    overflowed = results.runs[-1]
    assert overflowed.diverged and overflowed.final_theta is None
    assert np.isnan(overflowed.losses).any()  # the fixture really overflows (null in JSON)
    assert None in results.to_dict()["runs"][-1]["losses"]
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


def test_every_figure_has_a_phone_variant(default_figures: dict) -> None:
    """Each figure is drawn a second time at a phone's width (tests/test_figures_phone.py
    checks its text size in a browser)."""
    from reportgen.render.figures.style import NARROW_WIDTH_IN

    for fig in default_figures.values():
        assert fig.narrow_svg and fig.narrow_svg != fig.svg, fig.name
        width = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', fig.narrow_svg)
        assert width is not None and abs(float(width.group(1)) - NARROW_WIDTH_IN * 72) < 1
        assert fig.narrow_data_uri.startswith("data:image/svg+xml;base64,")


def _draw(results: Results, name: str, width: float | None = None) -> Drawn:
    """One figure of the handout, drawn as the handout draws it (at its printed width, or
    at ``width``) and laid out as it is saved."""
    with mpl.rc_context(STYLE):
        drawn = dict(plan(results, {}))[name](width)
        drawn.figure.draw_without_rendering()
    return drawn


def test_figures_say_eta_and_plot_only_what_their_curves_describe() -> None:
    from results_fixture import optimizer_results

    results = optimizer_results()
    rates = _draw(results, "learning-rates")
    texts = " ".join(t.get_text() for t in rates.figure.findobj(Text))
    assert "η = 0.1" in texts and "lr " not in texts
    legend = [t.get_text() for t in rates.figure.legends[0].get_texts()]
    assert sum("own factor" in entry for entry in legend) == 2  # momentum and Nesterov
    assert "Adam run has no such factor" in rates.caption  # its name
    loss = _draw(results, "loss")
    assert "Excess loss above the floor" in [ax.get_title() for ax in loss.figure.axes]


@functools.cache
def _rates_3d() -> Drawn:
    """The 3D figure of the five learning-rate runs (no sweep), drawn once for the two
    tests that read it."""
    return _draw(make_results(LEARNING_RATE_RUNS), "trajectories-3d")


def test_divergence_is_marked_where_it_began_and_off_chart_lines_say_so(
        rates_figures: tuple[Results, dict]) -> None:
    drawn = rates_figures[1]
    assert "loss above 10× its start from here on" in drawn["loss"].svg
    assert "divergence begins" not in drawn["loss"].svg  # issue 21: it rose from the start
    assert "rises at every step" in drawn["loss"].alt
    assert "above the chart" in drawn["fits"].svg
    titles = " ".join(ax.get_title() for ax in _rates_3d().figure.axes)
    assert "leaves this window at step" in titles.replace("\n", " ")
    assert "diverged (final loss off the scale)" in drawn["sweep"].svg
    assert "logarithmic axes" in drawn["sweep"].alt


def test_3d_alt_text_says_which_runs_descend_from_their_losses() -> None:
    """Issue 21: the alt text said every run descends towards the minimum, the two that
    diverge included. Each run's verb is checked against its own first and last loss."""
    results = make_results(LEARNING_RATE_RUNS)
    alt = _rates_3d().alt
    clauses = alt.split("from its start: ", 1)[1].rstrip(".").split("; ")
    for run in results.runs:
        losses = np.asarray(run.losses, dtype=float)
        finite = losses[np.isfinite(losses)]
        fell = len(finite) > 1 and finite[-1] < finite[0]
        said = [c for c in clauses if re.search(rf"(^|, | and ){re.escape(run.name)}( |,)", c)]
        assert len(said) == 1, (run.name, clauses)
        assert ("descend" in said[0]) == fell, (run.name, said[0])
        assert ("diverges" in said[0]) == (not fell), (run.name, said[0])


def test_sweep_alt_text_names_the_drawn_values() -> None:
    """Issue 21: the sweep's alt text said the loss falls 'until 2/L'; the lowest final loss
    is at a rate below it and the loss is higher again at the largest converged rate. The
    alt text names the values at the rates where they are, read here from the results."""
    results = make_results(LEARNING_RATE_RUNS, sweep=True)
    alt = _draw(results, "sweep").alt
    sweep = results.sweep
    assert sweep is not None
    rates = np.asarray(sweep.learning_rates, dtype=float)
    finals = np.asarray(sweep.final_losses, dtype=float)
    ok = np.isfinite(finals) & ~np.asarray(sweep.diverged, dtype=bool)
    low = int(np.argmin(np.where(ok, finals, np.inf)))
    last = int(np.nonzero(ok)[0][-1])
    assert low != last  # the fixture's sweep: higher again at its last converged rate
    # numbers as the formatting policy writes them (three significant figures)
    assert f"lowest ({fmt_num(finals[low])}) at η = {fmt_num(rates[low])}" in alt
    assert (f"{fmt_num(finals[last])} at η = {fmt_num(rates[last])}, the largest rate that "
            "converged") in alt
    assert f"the {int((~ok).sum())} rates from η = {fmt_num(rates[~ok].min())} up diverged" \
        in alt
    assert "falls" not in alt and "until" not in alt


def test_sweep_alt_text_calls_losses_at_the_floor_ties_not_the_best() -> None:
    """Issue 21: with long sweeps many rates end within 1e-9 of J*; the alt text counts
    them as tied with the floor instead of naming the lowest of them the best rate."""
    results = make_results(LEARNING_RATE_RUNS, sweep=True)
    sweep = results.sweep
    assert sweep is not None
    finals = np.asarray(sweep.final_losses, dtype=float).copy()
    floor = float(results.ols.loss)
    finals[10:15] = floor * (1 + np.array([3e-10, 1e-10, 0.0, 2e-10, 5e-10]))
    tied = dataclasses.replace(results, sweep=dataclasses.replace(sweep, final_losses=finals))
    alt = _draw(tied, "sweep").alt
    rates = np.asarray(sweep.learning_rates, dtype=float)
    assert (f"within 10⁻⁹ of the OLS floor J* for 5 of the rates between "
            f"η = {fmt_num(rates[10])} and {fmt_num(rates[14])}") in alt
    assert "lowest" not in alt


# ---------------------------------------------------------------- what the figures show
#
# Geometry is read from the laid-out matplotlib objects, in points: where each marker's
# centre lands through its own transform (offsets included), how big it is, where each
# line runs and where each text's box is.

#: The shipped learning-rates handout's runs (issue 21: the 0.45 and 0.5 paths merged, the
#: 0.45 end marker hid under the star), and the optimizers handout's (five paths along the
#: valley floor, four end markers under the star).
SHIPPED_RATES = [{"name": name, "learning_rate": rate, "epochs": 40, "batch_size": None,
                  "init": [0.0, 0.0]}
                 for name, rate in (("Small rate", 0.02), ("The notebook's rate", 0.1),
                                    ("Near-optimal rate", 0.45), ("Just above 2/λmax", 0.5))]
SHIPPED_OPTIMIZERS = [{"name": name, "optimizer": rule, "learning_rate": rate, "epochs": 60,
                       "init": [-2.0, 8.0], **extra}
                      for name, rule, rate, extra in (
                          ("Gradient descent", "gd", 0.1, {}),
                          ("Gradient descent, tuned", "gd", 0.449, {}),
                          ("Momentum", "momentum", 0.05, {"momentum": 0.8}),
                          ("Nesterov momentum", "nesterov", 0.05, {"momentum": 0.8}),
                          ("Adam", "adam", 0.3, {}))]
CONFIGS = {"notebook": None, "rates": SHIPPED_RATES, "optimizers": SHIPPED_OPTIMIZERS}


@functools.cache
def _results(config: str) -> Results:
    return make_results(CONFIGS[config])


@functools.cache
def _drawn(config: str, name: str, phone: bool = False) -> Figure:
    """Figure ``name`` of ``config``'s handout as ``_draw`` lays it out, drawn once for
    all the tests below that only measure it (none of them changes it)."""
    return _draw(_results(config), name, NARROW_WIDTH_IN if phone else None).figure


def _points(fig: Figure, xy: np.ndarray) -> np.ndarray:
    return np.asarray(xy, dtype=float) * 72.0 / fig.dpi


def _discs(fig: Figure, gid: str) -> list[tuple[str, np.ndarray, float]]:
    """(gid, centre, radius) in points of every one-point marker line whose gid starts
    with ``gid``, in any axes or on the figure itself."""
    found = []
    for line in fig.findobj(Line2D):
        name = line.get_gid() or ""
        if name.startswith(gid) and line.get_visible():
            xy = np.asarray(line.get_xydata(), dtype=float)[0]
            centre = _points(fig, line.get_transform().transform(xy))
            found.append((name, centre, line.get_markersize() / 2
                          + line.get_markeredgewidth() / 2))
    return found


@pytest.mark.parametrize("name", ["contour", "trajectories-3d"])
@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("phone", [False, True])
def test_every_end_marker_is_clear_of_the_others_and_the_star(
        name: str, config: str, phone: bool) -> None:
    results = _results(config)
    fig = _drawn(config, name, phone)
    ends = _discs(fig, "end:")
    stars = _discs(fig, "star")
    converged = {f"end:{i}" for i, run in enumerate(results.runs) if not run.diverged}
    assert converged <= {gid for gid, _, _ in ends}  # every run that ends in view has one
    assert stars
    for k, (gid, centre, radius) in enumerate(ends):
        for other, where, size in ends[k + 1:] + stars:
            apart = float(np.hypot(*(centre - where)))
            assert apart >= radius + size, f"{name}: {gid} overlaps {other} ({apart:.1f} pt)"


def test_the_end_marker_check_sees_a_marker_under_the_star() -> None:
    """Without the dodging, issue 21's optimizers figure puts ends under the star: the
    same measurement finds it (the markers drawn where the runs really end)."""
    results = _results("optimizers")
    fig = _drawn("optimizers", "contour")
    zoom = fig.axes[2]  # the tuned run's panel
    star = next(line for line in zoom.get_lines() if line.get_gid() == "star")
    where = _points(fig, star.get_transform().transform(star.get_xydata()[0]))
    tuned = results.runs[1].final_theta
    assert tuned is not None
    at = _points(fig, zoom.transData.transform(tuned))
    assert float(np.hypot(*(at - where))) < 3.5 + star.get_markersize() / 2


def test_moved_end_markers_keep_a_leader_to_where_the_run_ended() -> None:
    from matplotlib.text import Annotation

    results = _results("optimizers")
    fig = _drawn("optimizers", "contour")
    for ax, run in zip(fig.axes[1:], results.runs, strict=False):
        end = run.final_theta
        assert end is not None
        marker = next(line for line in ax.get_lines() if (line.get_gid() or "").startswith("end:"))
        shown = _points(fig, marker.get_transform().transform(marker.get_xydata()[0]))
        true = _points(fig, ax.transData.transform(end))
        if np.hypot(*(shown - true)) > 0.5:
            leaders = [a for a in ax.texts if isinstance(a, Annotation)
                       and np.allclose(a.xy, end) and a.arrow_patch is not None]
            assert leaders, run.name


def _line_samples(fig: Figure, line: Line2D) -> np.ndarray:
    """Points (in points) every 0.5 pt along a drawn line, inside its clip box."""
    xy = _points(fig, line.get_transform().transform(np.asarray(line.get_xydata(), float)))
    samples = []
    for a, b in itertools.pairwise(xy):
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            continue
        count = max(2, int(np.hypot(*(b - a)) / 0.5) + 1)
        samples.append(a + (b - a) * np.linspace(0, 1, count)[:, None])
    if not samples:
        return np.zeros((0, 2))
    points = np.concatenate(samples)
    clip = line.get_clip_box()
    if line.get_clip_on() and clip is not None:
        box = _points(fig, clip.get_points())
        inside = np.all((points >= box[0]) & (points <= box[1]), axis=1)
        points = points[inside]
    return points


def _crossed_labels(fig: Figure) -> list[str]:
    """Every text of every axes (titles, annotations, labels set in the panel) that a
    drawn line of the same axes passes through."""
    renderer = FigureCanvasAgg(fig).get_renderer()
    crossed = []
    for ax in fig.axes:
        lines = [line for line in ax.get_lines() if line.get_visible()
                 and line.get_linestyle() not in ("None", "none", "", " ")]
        samples = [_line_samples(fig, line) for line in lines]
        texts = [*ax.texts, ax.title]
        for text in texts:
            if not text.get_text().strip() or not text.get_visible():
                continue
            box = _points(fig, Text.get_window_extent(text, renderer).get_points())
            low, high = box[0] + 0.5, box[1] - 0.5
            for line, points in zip(lines, samples, strict=True):
                if np.any(np.all((points > low) & (points < high), axis=1)):
                    crossed.append(f"{text.get_text()!r} by {line.get_label()!r}")
    return crossed


@pytest.mark.parametrize(("config", "name"), [
    ("rates", "fits"), ("rates", "learning-rates"), ("optimizers", "learning-rates"),
    ("notebook", "fits-2"), ("notebook", "contour"), ("rates", "contour"),
    ("optimizers", "fits"),
])
@pytest.mark.parametrize("phone", [False, True])
def test_labels_are_clear_of_lines(config: str, name: str, phone: bool) -> None:
    assert _crossed_labels(_drawn(config, name, phone)) == []


def test_the_label_check_sees_a_crossed_label() -> None:
    """A label put where issue 21 saw one (inside a panel, where a diverging line runs)
    is reported."""
    fig = _draw(_results("rates"), "fits").figure
    panel = fig.axes[-3]  # the diverging run at step 5: its line climbs across the panel
    line = max(panel.get_lines(), key=lambda ln: ln.get_linewidth())
    (x0, x1), (y0, y1) = line.get_xdata(), line.get_ydata()
    low, high = panel.get_ylim()
    y = (max(y0, low) + min(y1, high)) / 2  # on the part of the line inside the panel
    x = x0 + (x1 - x0) * (y - y0) / (y1 - y0)
    assert x0 < x < x1
    panel.text(x, y, "θ = (8.43, 8.46)", fontsize=7, ha="center", va="center")
    fig.draw_without_rendering()
    assert any("8.43" in crossed for crossed in _crossed_labels(fig))


def test_zoom_connectors_end_at_the_zoom_corners() -> None:
    fig = _drawn("notebook", "contour")
    connectors = fig.findobj(ConnectionPatch)
    assert len(connectors) == 2
    zoom = fig.axes[1]
    corners = _points(fig, zoom.bbox.get_points())
    wanted = [np.array([corners[0][0], corners[1][1]]), corners[0]]  # top-left, bottom-left
    ends = [_points(fig, patch.get_transform().transform(patch.get_path().vertices))[-1]
            for patch in connectors]
    for corner in wanted:
        assert min(float(np.hypot(*(corner - end))) for end in ends) < 1.0, corner


# ---------------------------------------------------------------- what the words say


def test_straight_excess_is_claimed_only_where_the_drawn_excess_is_straight() -> None:
    """Issue 21: "the excess becomes a straight line" was printed for the notebook's 10
    steps, where it is still curved; it holds for the rates handout's 40 steps at 0.45."""
    for config, expected in (("notebook", set()), ("rates", {1, 2})):
        results = _results(config)
        caption = _draw(results, "loss").caption
        straight = set()
        for i, run in enumerate(results.runs):  # an independent reading of the same data
            excess = np.asarray(run.losses, float) - results.ols.loss
            tail = excess[len(excess) // 2:]
            if run.diverged or np.any(tail <= 0):
                continue
            ratios = np.log(tail[1:] / tail[:-1])
            if ratios.mean() < 0 and np.ptp(ratios) <= 0.2 * abs(ratios.mean()):
                straight.add(i)
        assert straight == expected, config
        for i, run in enumerate(results.runs):
            named = in_sentence(run.name) + " (a factor" in caption
            assert named == (i in straight), (config, run.name, caption)
        if not straight:
            assert "no run’s excess is straight" in caption


def test_straight_tail() -> None:
    from reportgen.render.figures.loss import straight_tail

    steps = np.arange(41)
    assert straight_tail(3.0 * 0.8 ** steps) == pytest.approx(0.8)
    assert straight_tail(0.8 ** steps + 0.99 ** steps) is None  # two rates: still curved
    assert straight_tail(1.1 ** steps) is None  # rising


def test_words_follow_the_shape_of_the_valley() -> None:
    results = _results("notebook")
    assert results.diagnostics.condition_number is not None
    assert results.diagnostics.condition_number > 10
    for name in ("surface", "contour"):
        assert "a long, narrow valley" in _draw(results, name).alt
    round_bowl = make_results(n=100)  # the same data, centred: a nearly round bowl
    x = np.asarray(round_bowl.data.x)
    h = 2 * np.array([[1.0, 0.0], [0.0, float(np.mean((x - x.mean()) ** 2))]])
    centred = dataclasses.replace(round_bowl, diagnostics=dataclasses.replace(
        round_bowl.diagnostics, hessian=h))
    words = _draw(centred, "surface").alt
    assert "narrow valley" not in words and ("bowl" in words)
# ---------------------------------------------------------------- user text and long runs


@pytest.mark.parametrize("name", ["price $5 and $6", r"cost $\frac{1 in $USD"])
def test_run_names_are_text_not_mathtext(name: str) -> None:
    """A ``$`` in a name is a dollar: never parsed (or failed) as matplotlib mathtext."""
    results = make_results([{"name": name, "learning_rate": 0.1, "epochs": 3,
                             "batch_size": None}])
    for figure in ("contour", "trajectories-3d", "loss"):  # drawn and saved as the handout's
        svg = draw_job(results, {}, (figure, False))[0]
        assert f"{name} (η = 0.1)" in svg, figure


def _markers_and_vertices(svg: str) -> tuple[int, int]:
    """Marker instances (``<use``) and path vertices in an SVG."""
    vertices = sum(len(re.findall(r"[ML]\s", d)) for d in re.findall(r'\sd="([^"]*)"', svg))
    return svg.count("<use "), vertices


def test_long_runs_are_thinned_for_drawing() -> None:
    """200,000 steps, one run converging and one diverging: small figures all the same."""
    from reportgen import pipeline
    from reportgen.render.figures.style import MAX_DRAWN_POINTS

    steps = 200_000
    config = config_for([
        {"name": "long", "learning_rate": 0.1, "epochs": steps, "batch_size": None},
        {"name": "diverging", "learning_rate": 0.5, "epochs": steps, "batch_size": None},
    ])
    # the results a build computes and draws from (not through 27 MB of results.json text)
    results = pipeline.compute(config, use_cache=False).results
    assert len(results.runs[0].losses) == steps + 1  # results keep every step
    drawn = make_figures(results, phone=False)  # the printed figures are measured
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


# ---------------------------------------------------------------- student copies
#
# A student copy is rendered from results without the withheld fields (issue 20). Every
# figure must still draw, and none may carry a withheld value: not as a number in its
# text, and not as geometry (a vertex or marker of the SVG mapped back through its axes'
# transform) within 0.1% of the value or of 2x, x/2, 1/x, 2/x, 100x or x/100.

WITHHOLD = {
    "rates": ["diagnostics.max_stable_lr", "diagnostics.hessian_eigenvalues",
              "diagnostics.optimal_lr", "diagnostics.condition_number"],
    "theta": ["ols.theta", "ols.xtx", "ols.xty"],
}
NEAR = 1e-3
NUMBER = re.compile(r"[-\u2212]?\d+(?:\.\d+)?")
SVG_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _variants(value: float) -> list[float]:
    return [value * k for k in (1, 2, 0.5, 100, 0.01)] + [1 / value, 2 / value]


def _near(x: float, value: float) -> bool:
    return any(abs(x - v) <= NEAR * abs(v) for v in _variants(value))


def _secrets(results: Results) -> dict[str, list[float]]:
    """The values a copy withholding each set must not show, from the full results."""
    diag = results.diagnostics
    assert diag.hessian_eigenvalues is not None and results.ols.theta is not None
    assert diag.max_stable_lr and diag.optimal_lr and diag.condition_number
    return {"rates": [diag.max_stable_lr, diag.optimal_lr, diag.condition_number,
                      *map(float, diag.hessian_eigenvalues)],
            "theta": [float(v) for v in results.ols.theta]}


def _text_numbers(svg: str) -> list[float]:
    texts = re.findall(r"<text\b[^>]*>([^<]*)<", svg)
    return [float(n.replace("\u2212", "-")) for t in texts for n in NUMBER.findall(t)]


def _svg_points(svg: str) -> list[np.ndarray]:
    """Every vertex of every path and every placed marker of the SVG, outside <defs>
    (marker shapes and clip paths), as one (n, 2) array per element, in points, y up."""
    height = float(re.search(r'<svg[^>]*\sheight="([\d.]+)pt"', svg).group(1))  # type: ignore[union-attr]
    body = re.sub(r"<defs>.*?</defs>", "", svg, flags=re.DOTALL)
    shapes = []
    for d in re.findall(r'\sd="([^"]*)"', body):
        values = [float(v) for v in SVG_NUMBER.findall(d)]
        if len(values) >= 2:
            xy = np.array(values[: len(values) // 2 * 2]).reshape(-1, 2)
            shapes.append(xy)
    for x, y in re.findall(r'<use [^>]*\bx="([-\d.e]+)"[^>]*\by="([-\d.e]+)"', body):
        shapes.append(np.array([[float(x), float(y)]]))
    return [np.column_stack([xy[:, 0], height - xy[:, 1]]) for xy in shapes]


def _in_axes(fig: Figure, shapes: list[np.ndarray]) -> dict[Axes, list[np.ndarray]]:
    """The SVG's shapes mapped back to each 2D axes' data coordinates (those that lie in
    the axes' box)."""
    mapped: dict[Axes, list[np.ndarray]] = {}
    for ax in fig.axes:
        if ax.name == "3d":
            continue
        box = _points(fig, ax.bbox.get_points())
        inverse = ax.transData.inverted()
        for xy in shapes:
            inside = xy[np.all((xy >= box[0] - 0.5) & (xy <= box[1] + 0.5), axis=1)]
            if len(inside):
                mapped.setdefault(ax, []).append(inverse.transform(inside * fig.dpi / 72.0))
    return mapped


def _leaks(results: Results, secrets: dict[str, list[float]], name: str,
           width: float | None, keep: dict[str, bytes] | None = None) -> list[str]:
    """What figure ``name`` (drawn from ``results``) shows of each withheld set; its SVG
    and words go into ``keep`` where given."""
    from reportgen.render.figures.style import svg_text

    with mpl.rc_context(STYLE):
        drawn = dict(plan(results, {}))[name](width)
        svg = svg_text(drawn.figure, name)  # the figure's layout is now the saved one
    if keep is not None:
        keep[f"figures/{name}-{width}.svg"] = svg.encode()
        keep[f"{name}-{width}.txt"] = f"{drawn.alt} {drawn.caption}".encode()
    found = [f"text {x} ~ {v}" for x in _text_numbers(svg) + _text_numbers(
        f"<text>{drawn.alt} {drawn.caption}</text>") for values in secrets.values()
             for v in values if _near(x, v)]
    for shapes in _in_axes(drawn.figure, _svg_points(svg)).values():
        for xy in shapes:
            if "theta" in secrets:
                found += _theta_leaks(xy, *secrets["theta"], data_space=name == "data"
                                      or name.startswith("fits"))
            if "rates" in secrets and name in ("learning-rates", "sweep"):
                found += [f"coordinate {c} ~ {v}" for c in xy.ravel() for v in secrets["rates"]
                          if _near(float(c), v)]
    return found


def _theta_leaks(xy: np.ndarray, t0: float, t1: float, data_space: bool) -> list[str]:
    """theta* as a point (in the parameter plane), or, in the data's (x, y) plane, a drawn
    segment whose slope or intercept is theta1* or theta0* (the OLS line's end points)."""
    close = (np.abs(xy[:, 0] - t0) <= NEAR * abs(t0)) & (np.abs(xy[:, 1] - t1) <= NEAR * abs(t1))
    found = [f"point {p} ~ theta*" for p in xy[close]]
    if data_space:
        for a, b in itertools.pairwise(xy):
            if abs(b[0] - a[0]) > 1e-9:
                slope = (b[1] - a[1]) / (b[0] - a[0])
                intercept = a[1] - slope * a[0]
                if _near(slope, t1) or _near(intercept, t0):
                    found.append(f"line slope {slope}, intercept {intercept} ~ theta*")
    return found


@functools.cache
def _full() -> Results:
    return make_results(sweep=True)


@pytest.mark.parametrize("withheld", sorted(WITHHOLD))
def test_student_copy_figures_draw_and_show_nothing_withheld(withheld: str) -> None:
    from reportgen.store.student import without

    full = _full()
    secrets = {withheld: _secrets(full)[withheld]}
    copy = without(full, WITHHOLD[withheld])
    for name, _ in plan(copy, {}):
        assert _leaks(copy, secrets, name, None) == [], name


def test_student_copy_figures_draw_at_a_phones_width_too() -> None:
    from reportgen.store.student import without

    full = _full()
    copy = without(full, WITHHOLD["rates"] + WITHHOLD["theta"])
    for name, _ in plan(copy, {}):
        assert _leaks(copy, _secrets(full), name, NARROW_WIDTH_IN) == [], name


def test_the_leak_check_finds_what_a_full_copy_shows() -> None:
    """The same check on the instructor's figures finds the star at theta*, the OLS line's
    slope, and 2/lambda_max in the text and geometry of the learning-rate figures."""
    full = _full()
    secrets = _secrets(full)
    assert any("theta*" in leak for leak in _leaks(full, secrets, "contour", None))
    assert any("slope" in leak for leak in _leaks(full, secrets, "data", None))
    rates = _leaks(full, {"rates": secrets["rates"]}, "learning-rates", None)
    assert any(leak.startswith("coordinate") for leak in rates)
    assert any(leak.startswith("text") for leak in rates)


#: Runs for a course copy: one converges to theta* (its path's tail is withheld), one
#: momentum run, one diverges.
COURSE_RUNS: list[dict[str, Any]] = [
    {"name": "Long", "learning_rate": 0.4, "epochs": 300, "batch_size": None,
     "init": [0.0, 0.0]},
    {"name": "Momentum", "optimizer": "momentum", "learning_rate": 0.05, "epochs": 100,
     "init": [-2.0, 8.0]},
    {"name": "Too fast", "learning_rate": 0.6, "epochs": 10, "batch_size": None,
     "init": [0.0, 0.0]},
]


@pytest.mark.parametrize("kept_secret, exercises", [
    ("theta", [{"id": "slope", "prompt": "Compute θ1*.", "answer": "ols.theta.1"}]),
    ("rates", [{"id": "stable", "prompt": "From H, compute 2/λ_max.",
                "answer": "diagnostics.max_stable_lr"},
               {"id": "which", "prompt": "Which?", "kind": "choice",
                "options": [0.05, 0.2, 0.3, 0.7], "question": "diverges"}]),
])
def test_figures_of_the_course_student_view_draw_and_show_no_answer(
        kept_secret: str, exercises: list[dict[str, Any]]) -> None:
    """The figures of a student copy as the course renders it (``student_view``: the
    converged run's path withheld near theta*, predicted rates and the sweep withheld):
    every figure draws at both widths; neither its text (the course's own leak check) nor
    its geometry mapped back through the axes shows an answer."""
    from reportgen.render.leaks import find_leaks
    from reportgen.store.answers import answers
    from reportgen.store.student import student_view

    full = with_exercises(make_results(COURSE_RUNS, sweep=True), exercises)
    view = student_view(full)
    assert view.withheld
    secrets = {kept_secret: _secrets(make_results(COURSE_RUNS, sweep=True))[kept_secret]}
    files: dict[str, bytes] = {}
    for name, _ in plan(view, {}):
        for width in (None, NARROW_WIDTH_IN):
            assert _leaks(view, secrets, name, width, files) == [], (name, width)
    assert find_leaks(files, answers(full)) == []


def test_a_converged_path_is_an_image_in_a_copy_without_theta_star() -> None:
    """A run that ends at theta* to 10 digits: in the instructor's copy its end is a vector
    point at theta*; in a copy without theta* the paths are drawn as an image."""
    from reportgen.store.student import without

    full = make_results([{"name": "Converged", "learning_rate": 0.45, "epochs": 300,
                          "batch_size": None}])
    end, star = full.runs[0].final_theta, full.ols.theta
    assert end is not None and star is not None
    assert np.allclose(end, star, rtol=1e-9)
    secrets = {"theta": _secrets(full)["theta"]}
    assert _leaks(full, secrets, "contour", None)  # the vector end point is theta*
    copy = without(full, WITHHOLD["theta"])
    assert _leaks(copy, secrets, "contour", None) == []
    assert _leaks(copy, secrets, "trajectories-3d", None) == []
