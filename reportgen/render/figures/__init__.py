"""Results -> figures: deterministic matplotlib SVGs of the handout, one module per family.

Reads only the plain ``results`` dict (the parsed results.json) and the large arrays kept
beside it; never JAX. Every figure is drawn on a bare :class:`matplotlib.figure.Figure`
(no pyplot state) in the one style of :mod:`.style`. Dense artists (3D surfaces, filled
contours, large scatters) are rasterized inside the vector figure: they would otherwise
weigh hundreds of kilobytes and dominate WeasyPrint's time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
import numpy as np

from reportgen.render.figures.data import draw_data, draw_fits, draw_fits_grid
from reportgen.render.figures.loss import draw_loss
from reportgen.render.figures.rates import draw_rates, draw_sweep
from reportgen.render.figures.style import STYLE, Drawn, run_style, svg_text
from reportgen.render.figures.surface import draw_contour, draw_surface, draw_trajectories_3d
from reportgen.render.mathtex import svg_data_uri

__all__ = ["FIGURES_DIR", "FigureInfo", "make_figures", "run_style"]

FIGURES_DIR = "figures"
#: Up to this many runs each gets its own small multiples; more share one grid (a row each).
MAX_RUNS_FOR_OWN_FITS = 2

Arrays = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class FigureInfo:
    """One rendered figure: its SVG, where it lives in the report, and its words."""

    name: str
    number: int
    filename: str  # relative to the report folder, e.g. "figures/loss.svg"
    svg: str
    alt: str
    caption: str
    width_pt: float
    height_pt: float
    narrow_svg: str | None = None  # the same figure laid out for a phone's width

    @property
    def data_uri(self) -> str:
        """The SVG as a ``data:`` URI, for a self-contained HTML file."""
        return svg_data_uri(self.svg)

    @property
    def narrow_data_uri(self) -> str | None:
        """The narrow variant as a ``data:`` URI, if the figure has one."""
        return None if self.narrow_svg is None else svg_data_uri(self.narrow_svg)


def plan(results: dict[str, Any], arrays: Arrays) -> list[tuple[str, Callable[[], Drawn]]]:
    """The figures of the handout, in the order the shipped template shows them."""
    planned: list[tuple[str, Callable[[], Drawn]]] = [
        ("data", lambda: draw_data(results)),
        ("surface", lambda: draw_surface(results, arrays)),
    ]
    if len(results["runs"]) <= MAX_RUNS_FOR_OWN_FITS:
        for index in range(len(results["runs"])):
            planned.append((f"fits-{index + 1}", lambda i=index: draw_fits(results, i)))  # type: ignore[misc]
    else:
        planned.append(("fits", lambda: draw_fits_grid(results)))
    planned += [
        ("contour", lambda: draw_contour(results, arrays)),
        ("trajectories-3d", lambda: draw_trajectories_3d(results)),
        ("loss", lambda: draw_loss(results)),
        ("learning-rates", lambda: draw_rates(results)),
    ]
    if results.get("sweep"):
        planned.append(("sweep", lambda: draw_sweep(results)))
    return planned


def narrow_variant(results: dict[str, Any], name: str) -> Drawn | None:
    """The figure laid out for a phone (fewer columns), where one helps: small multiples."""
    if name == "fits":
        return draw_fits_grid(results, ncols=3)
    if name.startswith("fits-"):
        return draw_fits(results, int(name.removeprefix("fits-")) - 1, ncols=2)
    return None


def make_figures(results: dict[str, Any], arrays: Arrays | None = None) -> dict[str, FigureInfo]:
    """Draw every figure of the handout as SVG text.

    Args:
      results: the parsed results.json.
      arrays: the large arrays beside it (``surface.npy``), by file name.

    Returns:
      The figures by name, in the order the handout shows them, numbered from 1; each
      belongs at ``FigureInfo.filename`` in the report folder.
    """
    figures: dict[str, FigureInfo] = {}
    with mpl.rc_context(STYLE):
        for number, (name, draw) in enumerate(plan(results, arrays or {}), start=1):
            drawn = draw()
            svg = svg_text(drawn.figure, name)
            width, height = (float(v) * 72 for v in drawn.figure.get_size_inches())
            narrow = narrow_variant(results, name)
            figures[name] = FigureInfo(
                name, number, f"{FIGURES_DIR}/{name}.svg", svg, drawn.alt, drawn.caption,
                round(width, 2), round(height, 2),
                None if narrow is None else svg_text(narrow.figure, f"{name}-narrow"))
    return figures
