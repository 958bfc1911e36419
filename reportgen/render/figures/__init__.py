"""Results -> figures: deterministic matplotlib SVGs of the handout, one module per family.

Reads only the typed results (``store.results.Results``) and the large arrays kept beside
results.json; never JAX. Every figure is drawn on a bare :class:`matplotlib.figure.Figure`
(no pyplot state) in the one style of :mod:`.style`. Dense artists (3D surfaces, filled
contours, large scatters) are rasterized inside the vector figure: they would otherwise
weigh hundreds of kilobytes and dominate WeasyPrint's time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
import numpy as np

from reportgen.layout import FIGURES_DIR
from reportgen.render.figures.data import draw_data, draw_fits, draw_fits_grid
from reportgen.render.figures.loss import draw_loss
from reportgen.render.figures.rates import draw_rates, draw_sweep
from reportgen.render.figures.style import STYLE, Drawn, run_style, svg_text
from reportgen.render.figures.surface import draw_contour, draw_surface, draw_trajectories_3d
from reportgen.render.mathtex import FigureCache, svg_data_uri
from reportgen.store.results import Results

__all__ = ["FIGURES_DIR", "FigureCache", "FigureInfo", "MemoryCache", "make_figures",
           "run_style"]

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


def plan(results: Results, arrays: Arrays) -> list[tuple[str, Callable[[], Drawn]]]:
    """The figures of the handout, in the order the shipped template shows them."""
    planned: list[tuple[str, Callable[[], Drawn]]] = [
        ("data", lambda: draw_data(results)),
        ("surface", lambda: draw_surface(results, arrays)),
    ]
    if len(results.runs) <= MAX_RUNS_FOR_OWN_FITS:
        for index in range(len(results.runs)):
            planned.append((f"fits-{index + 1}", lambda i=index: draw_fits(results, i)))  # type: ignore[misc]
    else:
        planned.append(("fits", lambda: draw_fits_grid(results)))
    planned += [
        ("contour", lambda: draw_contour(results, arrays)),
        ("trajectories-3d", lambda: draw_trajectories_3d(results)),
        ("loss", lambda: draw_loss(results)),
    ]
    if results.diagnostics.eigenvalues is not None:  # a student copy may withhold them
        planned.append(("learning-rates", lambda: draw_rates(results)))
    if results.sweep is not None:
        planned.append(("sweep", lambda: draw_sweep(results)))
    return planned


class MemoryCache:
    """A ``FigureCache`` in this process (what ``reportgen watch`` keeps warm)."""

    def __init__(self) -> None:
        self._entries: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        """The entry under ``key``, or None."""
        return self._entries.get(key)

    def put(self, key: str, text: str) -> None:
        """Keep ``text`` under ``key`` (only the latest few are kept)."""
        self._entries[key] = text
        while len(self._entries) > 8:
            self._entries.pop(next(iter(self._entries)))


def inputs_digest(results: Results, arrays: Arrays) -> str:
    """sha256 of everything the figures are drawn from: the results (but for the config
    fields no figure reads; a student copy's results lack what it withholds), the arrays,
    the figure code, and the matplotlib and FreeType that draw it."""
    from matplotlib import ft2font

    from reportgen import codebase as sources
    from reportgen.config import PRESENTATION_FIELDS

    # the fields that change no number change no figure either
    plain = results.to_dict()
    config = {k: v for k, v in plain["config"].items() if k not in PRESENTATION_FIELDS}
    digest = hashlib.sha256(json.dumps({**plain, "config": config}, sort_keys=True,
                                       separators=(",", ":")).encode())
    for name, array in sorted(arrays.items()):
        digest.update(name.encode() + b"\0" + np.ascontiguousarray(array).tobytes())
    digest.update(sources.code_digest("reportgen.render.figures").encode())
    digest.update(repr((mpl.__version__,
                        getattr(ft2font, "__freetype_version__", None))).encode())
    return digest.hexdigest()


def narrow_variant(results: Results, name: str) -> Drawn | None:
    """The figure laid out for a phone (fewer columns), where one helps: small multiples."""
    if not has_narrow_variant(results, name):
        return None
    if name == "fits":
        return draw_fits_grid(results, ncols=3)
    if name.startswith("fits-"):
        return draw_fits(results, int(name.removeprefix("fits-")) - 1, ncols=2)
    return None


def make_figures(
    results: Results, arrays: Arrays | None = None, cache: FigureCache | None = None,
    helper: Executor | None = None,
) -> dict[str, FigureInfo]:
    """Draw every figure of the handout as SVG text (or take them from ``cache``).

    Args:
      results: the results.
      arrays: the large arrays beside results.json (``surface.npy``), by file name.
      cache: figures drawn before, by the digest of their inputs (``inputs_digest``).
      helper: a one-process executor (``reportgen.renderer_process``) that draws some of the
        figures while this process draws the others; the SVGs are the same bytes.

    Returns:
      The figures by name, in the order the handout shows them, numbered from 1; each
      belongs at ``FigureInfo.filename`` in the report folder.
    """
    key = inputs_digest(results, arrays or {}) if cache is not None else ""
    if cache is not None:
        stored = cache.get(key)
        if stored is not None:
            return {item["name"]: FigureInfo(**item) for item in json.loads(stored)}
    figures = draw_figures(results, arrays or {}, helper)
    if cache is not None:
        cache.put(key, json.dumps([dataclasses.asdict(f) for f in figures.values()]))
    return figures


#: One unit of drawing: a figure by name, wide (as printed) or narrow (for a phone).
Job = tuple[str, bool]
#: What a job gives: the SVG, and for a wide figure its alt text, caption and size.
Sheet = tuple[str, str, str, float, float]


def jobs(results: Results, arrays: Arrays) -> list[Job]:
    """Every drawing the handout needs, in the order the handout shows them."""
    names = [name for name, _ in plan(results, arrays)]
    return [(name, narrow) for name in names for narrow in (False, True)
            if not narrow or has_narrow_variant(results, name)]


def has_narrow_variant(results: Results, name: str) -> bool:
    """Whether ``narrow_variant`` draws a phone layout of ``name``."""
    return name == "fits" or name.startswith("fits-")


def draw_job(results: Results, arrays: Arrays, job: Job) -> Sheet:
    """Draw one job in the figure style and save it as SVG."""
    name, narrow = job
    with mpl.rc_context(STYLE):
        if narrow:
            drawn = narrow_variant(results, name)
            assert drawn is not None
            return svg_text(drawn.figure, f"{name}-narrow"), "", "", 0.0, 0.0
        drawn = dict(plan(results, arrays))[name]()
        width, height = (round(float(v) * 72, 2) for v in drawn.figure.get_size_inches())
        return svg_text(drawn.figure, name), drawn.alt, drawn.caption, width, height


def draw_figures(results: Results, arrays: Arrays,
                 helper: Executor | None = None) -> dict[str, FigureInfo]:
    """Draw every figure (no cache), sharing the work with ``helper`` if there is one."""
    todo = jobs(results, arrays)
    sheets = _share(results, arrays, todo, helper) if helper is not None else \
        {job: draw_job(results, arrays, job) for job in todo}
    figures: dict[str, FigureInfo] = {}
    for number, (name, _) in enumerate(plan(results, arrays), start=1):
        svg, alt, caption, width, height = sheets[(name, False)]
        narrow = sheets.get((name, True))
        figures[name] = FigureInfo(name, number, f"{FIGURES_DIR}/{name}.svg", svg, alt,
                                   caption, width, height, None if narrow is None else narrow[0])
    return figures


def _share(results: Results, arrays: Arrays, todo: list[Job],
           helper: Executor) -> dict[Job, Sheet]:
    """Draw ``todo`` in two processes: the helper takes jobs from the front (the shipped
    order puts the costly small multiples first), this process from the back, each job
    drawn by whichever reaches it first (a job still queued for the helper is cancelled
    and drawn here). Who drew a figure does not change its bytes."""
    from concurrent.futures import BrokenExecutor

    try:
        # one helper process takes its jobs in order: what it remembers comes first
        helper.submit(_remember, results, arrays)
        ordered = sorted(todo, key=lambda job: not job[0].startswith("fits"))
        queued = {job: helper.submit(_draw_remembered, job) for job in ordered}
    except BrokenExecutor:  # the helper died (killed, out of memory): draw everything here
        return {job: draw_job(results, arrays, job) for job in todo}
    sheets: dict[Job, Sheet] = {}
    for job in reversed(ordered):
        if not queued[job].cancel():
            break  # the helper has reached it: it has the rest too
        sheets[job] = draw_job(results, arrays, job)
    for job, future in queued.items():
        if job not in sheets:
            try:
                sheets[job] = future.result()
            except BrokenExecutor:
                sheets[job] = draw_job(results, arrays, job)
    return sheets


#: What the helper process draws from: the latest results sent by ``_remember``.
_REMEMBERED: dict[str, Any] = {}


def _remember(results: Results, arrays: Arrays) -> None:
    """In the helper: keep the inputs of the jobs that follow (sent once, not per job)."""
    _REMEMBERED.update(results=results, arrays=arrays)


def _draw_remembered(job: Job) -> Sheet:
    """In the helper: draw ``job`` from the remembered inputs (a student copy's results
    already lack what it withholds)."""
    return draw_job(_REMEMBERED["results"], _REMEMBERED["arrays"], job)
