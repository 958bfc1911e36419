"""One style for every figure: Okabe-Ito colours, sizes, rcParams and the SVG writer.

Each run is also told apart by line style and marker, so the figures survive grayscale
printing. Figures are saved as SVG with a per-figure ``svg.hashsalt`` and no date, so the
same results give the same bytes in any process.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

# Okabe-Ito, ordered so neighbours differ in lightness too (grayscale printing).
RUN_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
RUN_LINESTYLES: tuple[Any, ...] = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1)), "-")
RUN_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
DATA_COLOUR = "#9a9a9a"
TRUE_COLOUR = "#E69F00"
OLS_COLOUR = "#000000"
CMAP = "viridis"

TEXT_WIDTH_IN = 6.5  # A4 and letter both leave about 6.5 in between the margins
RASTER_DPI = 150
MAX_SMALL_MULTIPLES = 12
MAX_3D_GRID = 60
MAX_CONTOUR_GRID = 300
#: Lines with more points are thinned for drawing (results.json keeps every step): a
#: 10^6-step run would otherwise put 10^6 points, and markers, into each SVG.
MAX_DRAWN_POINTS = 2000

STYLE: Any = {  # matplotlib rcParams (Any: rc_context types its keys as literals)
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8.5,
    "legend.fontsize": 7.5,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e4e4e4",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "lines.linewidth": 1.5,
    "lines.markersize": 4,
    "legend.frameon": False,
    "mathtext.fontset": "dejavusans",
    "svg.fonttype": "none",
    "image.cmap": CMAP,
    "path.simplify": True,
}


@dataclass(frozen=True)
class Drawn:
    """A drawn figure with its alt text and caption, before it is saved."""

    figure: Figure
    alt: str
    caption: str


def run_style(index: int) -> dict[str, Any]:
    """Colour, line style and marker of the ``index``-th run (the same in every figure)."""
    k = index % len(RUN_COLOURS)
    return {"color": RUN_COLOURS[k], "linestyle": RUN_LINESTYLES[k], "marker": RUN_MARKERS[k]}


def literal(text: str) -> str:
    """User text for a figure, shown as written: every ``$`` escaped, so that none starts
    matplotlib's mathtext (``price $5 and $6`` stays text, ``$\\frac{1`` cannot fail)."""
    return text.replace("$", r"\$")


def run_label(run: dict[str, Any]) -> str:
    """A run's name and rate, as legends and panel titles show it (a literal text)."""
    return f"{literal(run['name'])} (lr {run['learning_rate']:g})"


def log_levels(low: float, high: float, count: int = 14) -> np.ndarray:
    """``count`` contour levels spaced evenly on a log axis between ``low`` and ``high``."""
    low = max(low, 1e-12)
    high = max(high, low * 1.0001)
    return np.geomspace(low, high, count)


def svg_text(fig: Figure, name: str) -> str:
    """The figure as a deterministic SVG string (salted ids, no date)."""
    buf = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": f"reportgen:{name}", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", dpi=RASTER_DPI, metadata={"Date": None})
    return buf.getvalue()
