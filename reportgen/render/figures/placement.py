"""Placing markers and labels where nothing hides them: geometry in display points.

A figure is laid out once (:func:`settle`), then what must stay visible is placed against
what is already drawn: an end marker that would sit on another or on the OLS star is
moved aside along a thin leader line to where the run really ended (:func:`dodge`); a
label takes the first of its candidate places that no line crosses (:func:`place_label`).
Everything here is in points (1/72 in) of the figure as saved, whatever its dpi.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.path import Path
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox, Transform, offset_copy

#: Clear space kept between a placed marker or label and what it must not touch (points).
GAP_PT = 1.5
#: The visible length of the leader from a moved marker to where it belongs (points).
LEADER_PT = 6.0


@dataclass(frozen=True)
class Disc:
    """A marker as placed: its centre and radius, in points."""

    x: float
    y: float
    radius: float

    def meets(self, other: Disc, gap: float = GAP_PT) -> bool:
        return math.hypot(self.x - other.x, self.y - other.y) < self.radius + other.radius + gap


def settle(fig: Figure) -> RendererBase:
    """Lay the figure out as it will be saved and keep that layout (a layout engine would
    otherwise move the axes again when artists are added): positions read from now on hold
    in the saved file."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    fig.set_layout_engine("none")
    return canvas.get_renderer()


def to_points(fig: Figure, xy: np.ndarray) -> np.ndarray:
    """Display pixels to points."""
    return np.asarray(xy, dtype=float) * (72.0 / fig.dpi)


def bbox_points(fig: Figure, bbox: Bbox) -> Bbox:
    """A display bounding box in points."""
    return Bbox(to_points(fig, bbox.get_points()))


def marker_radius(markersize: float, edgewidth: float = 0.0) -> float:
    """The radius (points) of a marker of ``markersize`` points, its edge included."""
    return markersize / 2 + edgewidth / 2


def marker_disc(line: Line2D) -> Disc:
    """Where a one-point line's marker is drawn (as last laid out), edge included."""
    fig = line.figure
    assert isinstance(fig, Figure)
    xy = np.asarray(line.get_xydata(), dtype=float)[0]
    x, y = to_points(fig, line.get_transform().transform(xy))
    return Disc(float(x), float(y), marker_radius(float(line.get_markersize()),
                                                  float(line.get_markeredgewidth())))


def line_paths(fig: Figure, artists: Iterable[Artist]) -> list[np.ndarray]:
    """The drawn polylines of every visible line among ``artists`` (points, NaN-free
    pieces, clipped to their axes where the line is)."""
    pieces: list[np.ndarray] = []
    for artist in artists:
        if not isinstance(artist, Line2D) or not artist.get_visible() \
                or artist.get_linestyle() in ("None", "none", "", " "):
            continue
        xy = artist.get_transform().transform(artist.get_xydata())
        pieces += [to_points(fig, piece) for piece in _finite_runs(np.asarray(xy, float))]
    return pieces


def _finite_runs(xy: np.ndarray) -> list[np.ndarray]:
    ok = np.all(np.isfinite(xy), axis=1)
    runs, start = [], None
    for i, good in enumerate([*ok.tolist(), False]):
        if good and start is None:
            start = i
        elif not good and start is not None:
            if i - start >= 2:
                runs.append(xy[start:i])
            start = None
    return runs


def crosses(box: Bbox, polylines: Sequence[np.ndarray], gap: float = GAP_PT) -> bool:
    """Whether any polyline passes through ``box`` grown by ``gap`` (all in points)."""
    grown = box.padded(gap)
    return any(Path(line).intersects_bbox(grown, filled=False) for line in polylines)


def disc_crosses(disc: Disc, polylines: Sequence[np.ndarray]) -> int:
    """How many polylines pass through the disc."""
    box = Bbox.from_bounds(disc.x - disc.radius, disc.y - disc.radius, 2 * disc.radius,
                           2 * disc.radius)
    return sum(Path(line).intersects_bbox(box, filled=False) for line in polylines)


#: Directions tried for a displaced marker, from up-right round (degrees).
ANGLES = tuple(45 + 22.5 * k for k in range(16))


def dodge(anchors: Sequence[tuple[float, float]], radius: float, obstacles: Sequence[Disc],
          bounds: Bbox, avoid: Sequence[np.ndarray] = ()) -> list[tuple[float, float]]:
    """Offsets (points) that keep each marker of ``radius`` centred at ``anchors`` off
    the ``obstacles`` and off each other, inside ``bounds``.

    A marker that is free stays where it is (offset 0). Else it takes, at the smallest
    distance that frees it with a visible leader back to its anchor, the direction that
    crosses fewest of the ``avoid`` lines.
    """
    placed = list(obstacles)
    widest = max([radius, *(o.radius for o in obstacles)])
    reach = radius + widest + GAP_PT + LEADER_PT
    offsets = []
    for x, y in anchors:
        here = Disc(x, y, radius)
        if not any(here.meets(other) for other in placed):
            offsets.append((0.0, 0.0))
            placed.append(here)
            continue
        chosen: Disc | None = None
        for distance in reach * np.array([1.0, 1.3, 1.7, 2.2, 3.0, 4.0]):
            free = [Disc(x + distance * math.cos(math.radians(a)),
                         y + distance * math.sin(math.radians(a)), radius) for a in ANGLES]
            free = [d for d in free if _inside(d, bounds)
                    and not any(d.meets(other) for other in placed)]
            if free:
                chosen = min(free, key=lambda d: disc_crosses(d, avoid))
                break
        chosen = chosen or here  # nowhere free in the panel: leave it (never happens in practice)
        offsets.append((chosen.x - x, chosen.y - y))
        placed.append(chosen)
    return offsets


def _inside(disc: Disc, bounds: Bbox) -> bool:
    return (bounds.x0 + disc.radius <= disc.x <= bounds.x1 - disc.radius
            and bounds.y0 + disc.radius <= disc.y <= bounds.y1 - disc.radius)


def shifted(fig: Figure, transform: Transform, dx: float, dy: float) -> Transform:
    """``transform`` followed by a shift of (dx, dy) points."""
    return offset_copy(transform, fig=fig, x=dx, y=dy, units="points")


HAlign = Literal["left", "center", "right"]
VAlign = Literal["bottom", "baseline", "center", "center_baseline", "top"]


@dataclass(frozen=True)
class Spot:
    """A candidate place for a label: an offset (points) from its anchor and alignment."""

    dx: float
    dy: float
    ha: HAlign
    va: VAlign


def place_label(text: Text, spots: Sequence[Spot], renderer: RendererBase,
                avoid: Sequence[np.ndarray], taken: list[Bbox], within: Bbox | None = None
                ) -> Bbox:
    """Move the annotation ``text`` to the first of ``spots`` where no ``avoid`` line
    crosses it, it meets no box in ``taken`` and it stays ``within`` (points); else to
    the spot it overlaps least. Adds its box to ``taken`` and returns it."""
    fig = text.figure
    assert isinstance(fig, Figure)
    best: tuple[int, int, Bbox, Spot] | None = None
    for rank, spot in enumerate(spots):
        _move(text, spot)
        box = text_box(text, renderer)
        clashes = crosses(box, avoid) + sum(box.overlaps(other.padded(GAP_PT)) for other in taken)
        if within is not None and not _box_within(box, within):
            clashes += 10
        if clashes == 0:
            taken.append(box)
            return box
        if best is None or (clashes, rank) < best[:2]:
            best = (clashes, rank, box, spot)
    assert best is not None
    _move(text, best[3])
    taken.append(best[2])
    return best[2]


def text_box(text: Text, renderer: RendererBase) -> Bbox:
    """The box (points) of the text itself, without an annotation's leader."""
    fig = text.figure
    assert isinstance(fig, Figure)
    if isinstance(text, Annotation):
        text.update_positions(renderer)
    return bbox_points(fig, Text.get_window_extent(text, renderer))


def _move(text: Text, spot: Spot) -> None:
    text.set_position((spot.dx, spot.dy))  # an annotation's text sits at xytext
    text.set_horizontalalignment(spot.ha)
    text.set_verticalalignment(spot.va)


def _box_within(box: Bbox, outer: Bbox) -> bool:
    return (box.x0 >= outer.x0 and box.x1 <= outer.x1 and box.y0 >= outer.y0
            and box.y1 <= outer.y1)


def axes_box(ax: Axes) -> Bbox:
    """The axes' drawing area in points."""
    fig = ax.figure
    assert isinstance(fig, Figure)
    return bbox_points(fig, ax.bbox)


def fit_legend(fig: Figure, ncol: int, fontsize: float | None = None) -> None:
    """The figure's legend under its axes (every labelled artist of every axes), in at most
    ``ncol`` columns: fewer where it would be wider than the figure (long entries in too
    many columns ran off both edges). The figure must use constrained layout."""
    from matplotlib.legend import Legend

    handles: list[Artist] = []
    labels: list[str] = []
    for ax in fig.axes:
        h, lab = ax.get_legend_handles_labels()
        handles += h
        labels += lab
    for columns in range(max(1, ncol), 0, -1):
        legend: Legend = fig.legend(handles, labels, loc="outside lower center", ncol=columns,
                                    fontsize=fontsize)
        fig.draw_without_rendering()
        if columns == 1 or legend.get_window_extent().width <= fig.bbox.width * 0.98:
            return
        legend.remove()
