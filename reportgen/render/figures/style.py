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

from reportgen.store.results import Run

# Okabe-Ito, ordered so neighbours differ in lightness too (grayscale printing).
RUN_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
RUN_LINESTYLES: tuple[Any, ...] = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1)), "-")
RUN_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
DATA_COLOUR = "#9a9a9a"
TRUE_COLOUR = "#E69F00"
OLS_COLOUR = "#000000"
CMAP = "viridis"

TEXT_WIDTH_IN = 6.5  # A4 and letter both leave about 6.5 in between the margins
#: A figure's phone layout: at 3.4 in (326 CSS px) a 7 pt text is drawn at 10.5 CSS px in
#: the 367 px column of a 390 px wide screen, and still at 9.7 px on a 360 px one.
NARROW_WIDTH_IN = 3.4
#: Figures are printed at their own size (never scaled down), so sizes here are print sizes.
MIN_FONT_PT = 7.0  # nothing smaller is legible on a printed handout
RASTER_DPI = 200  # the rasterized parts (surfaces, filled contours) at print resolution
MAX_SMALL_MULTIPLES = 12

# The handouts' notation, as the prose writes it: the loss J(θ) with minimum J*, the
# Hessian's eigenvalues λ_min and λ_max (subscripts as Unicode characters, not mathtext,
# whose scripts shrink below the smallest text size), the bound 2/λ_max.
LOSS = "J"
LOSS_MIN = "J*"
LAMBDA_MIN = "λₘᵢₙ"
LAMBDA_MAX = "λₘₐₓ"
BOUND = f"2/{LAMBDA_MAX}"
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
    "axes.unicode_minus": True,
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


def run_label(run: Run) -> str:
    """A run's name and rate, as legends and panel titles show it (a literal text; the rate
    once, if the name has it)."""
    rate = f"{run.learning_rate:g}"
    if rate in run.name:
        return literal(run.name)
    return f"{literal(run.name)} (η = {rate})"


def plain_log_axis(axis: Any) -> None:
    """Label a log axis with plain numbers (0.01, 1, 100): no small raised exponents."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    low, high = sorted(axis.get_view_interval())
    narrow = low > 0 and high / low < 300  # under 2.5 decades: label 1, 2, 5 as well
    axis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0) if narrow else (1.0,),
                                      numticks=12))
    axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(FuncFormatter(_plain_power))


def _plain_power(value: float, _position: int) -> str:
    if value <= 0:
        return ""
    exponent = int(np.floor(np.log10(value) + 1e-9))
    if abs(exponent) > 3:
        from reportgen.render.format import superscript

        return f"10{superscript(exponent)}"
    return f"{value:.{max(0, -exponent)}f}"


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
