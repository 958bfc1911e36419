"""The paths of an SVG as :mod:`reportgen.render.printsvg` reads them: style declarations
and paint, transforms, path data, and when neighbouring paths can be drawn as one.

Consecutive sibling paths of one style join where that cannot change a pixel: opaque
colours, and either a fill of pieces whose bounding boxes do not meet, or copies of one
shape (a marker) moved by translations, filled and stroked in one colour. Lone rectangles
and straight lines stay alone: viewers snap them to the pixel grid (rules, axes, ticks).
Only absolute M, L, Q, C and Z commands are read; any other path stays as it is.
"""

from __future__ import annotations

import functools
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

#: The only attributes a path may have to join others (a referenced id, a clip, a mask, a
#: marker or an opacity of its own would be lost or change meaning).
_MERGEABLE = frozenset({"d", "style", "transform"})
_COLOUR = re.compile(r"#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}|[a-zA-Z]+")
_NOT_COLOURS = frozenset({"none", "transparent", "currentcolor", "inherit"})
#: A number as SVG writes it (a regular expression).
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PATH_TOKENS = re.compile(rf"[MLQCZz]|{NUMBER}")
_PATH_CHARACTERS = re.compile(r"[\sMLQCZz0-9.,eE+-]*")
_ARITY = {"M": 2, "L": 2, "Q": 4, "C": 6}
_TRANSFORM = re.compile(r"\s*(translate|scale|rotate|matrix)\s*\(([^)]*)\)\s*,?")

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


# ---------------------------------------------------------------- styles


def style_declarations(style: str | None) -> dict[str, str]:
    """The declarations of a ``style`` attribute or a rule's body, by property name."""
    found = {}
    for declaration in (style or "").split(";"):
        name, colon, value = declaration.partition(":")
        if colon:
            found[name.strip()] = value.strip()
    return found


def _opaque_colour(value: str | None) -> bool:
    return value is not None and _COLOUR.fullmatch(value) is not None and \
        value.lower() not in _NOT_COLOURS


def _full(value: str | None) -> bool:
    try:
        return value is None or float(value) >= 1.0
    except ValueError:
        return False


@dataclass(frozen=True)
class Paint:
    """How a path is painted, as far as merging it with others goes."""

    fill: str | None  # None: not filled
    stroke: str | None  # None: not stroked
    evenodd: bool
    opaque: bool

    @classmethod
    def of(cls, effective: dict[str, str]) -> Paint:
        fill = effective.get("fill", "black")
        stroke = effective.get("stroke", "none")
        opaque = (_full(effective.get("fill-opacity")) and _full(effective.get("stroke-opacity"))
                  and (fill == "none" or _opaque_colour(fill))
                  and (stroke == "none" or _opaque_colour(stroke)))
        return cls(None if fill == "none" else fill.lower(),
                   None if stroke == "none" else stroke.lower(),
                   effective.get("fill-rule") == "evenodd", opaque)


# ---------------------------------------------------------------- geometry


def parse_transform(text: str | None) -> Matrix | None:
    """The matrix of an SVG transform list, or None if it uses what is not handled."""
    matrix = IDENTITY
    position = 0
    text = text or ""
    while position < len(text.rstrip()):
        match = _TRANSFORM.match(text, position)
        if match is None:
            return None
        position = match.end()
        try:
            values = [float(v) for v in re.split(r"[\s,]+", match[2].strip()) if v]
        except ValueError:
            return None
        step = _step(match[1], values)
        if step is None:
            return None
        matrix = _multiply(matrix, step)
    return matrix


def _step(name: str, v: list[float]) -> Matrix | None:
    if name == "translate" and len(v) in (1, 2):
        return (1.0, 0.0, 0.0, 1.0, v[0], v[1] if len(v) == 2 else 0.0)
    if name == "scale" and len(v) in (1, 2):
        return (v[0], 0.0, 0.0, v[1] if len(v) == 2 else v[0], 0.0, 0.0)
    if name == "matrix" and len(v) == 6:
        return (v[0], v[1], v[2], v[3], v[4], v[5])
    if name == "rotate" and len(v) in (1, 3):
        angle = math.radians(v[0])
        c, s = math.cos(angle), math.sin(angle)
        x, y = (v[1], v[2]) if len(v) == 3 else (0.0, 0.0)
        return (c, s, -s, c, x - c * x + s * y, y - s * x - c * y)
    return None


def _multiply(m: Matrix, n: Matrix) -> Matrix:
    """``m`` then ``n`` applied first (SVG's order: the list reads outermost first)."""
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + c * B, b * A + d * B, a * C + c * D, b * C + d * D,
            a * E + c * F + e, b * E + d * F + f)


@functools.lru_cache(maxsize=4096)
def _commands(d: str) -> list[tuple[str, list[float]]] | None:
    """Absolute M, L, Q, C and Z commands of a path, or None for anything else (kept: a
    marker's or a glyph's outline is read once however often it is drawn)."""
    if _PATH_CHARACTERS.fullmatch(d) is None:
        return None
    tokens = _PATH_TOKENS.findall(d)
    if sum(map(len, tokens)) != len(d) - sum(d.count(c) for c in " \t\n\r,"):
        return None  # a character that belongs to no number
    commands: list[tuple[str, list[float]]] = []
    numbers: list[float] = []
    for token in tokens:
        if token in _ARITY:
            numbers = []
            commands.append((token, numbers))
        elif token in "Zz":
            numbers = []
            commands.append(("Z", numbers))
        elif commands and commands[-1][0] != "Z":
            numbers.append(float(token))
        else:
            return None
    for letter, values in commands:
        if letter != "Z" and (not values or len(values) % _ARITY[letter]):
            return None
    return commands


#: How far (in points) a joined piece's points may move when rounded: 1/72,000 of an
#: inch, a two-hundredth of a pixel at 600 dpi.
PRECISION_PT = 1e-3


class Piece:
    """A path that may join others: its paint, its transform, and (read when first
    needed) its commands and the box of its points in its parent's space."""

    def __init__(self, element: ET.Element, paint: Paint, matrix: Matrix, scale: float) -> None:
        self.element = element
        self.paint = paint
        self.style = element.get("style", "")
        self.matrix = matrix
        self.scale = scale  # points per unit of the parent's space (an upper bound)
        self.shape = element.get("d", "")  # equal shapes are copies of one another
        self.moves_only = matrix[:4] == IDENTITY[:4]  # a stroke keeps its width

    @functools.cached_property
    def box(self) -> tuple[float, float, float, float] | None:
        """The box of every point, control points too, in the parent's space; None for a
        path that stays alone (unreadable, or a rectangle)."""
        commands = _commands(self.shape)
        if not commands or _is_rectangle(commands):
            return None  # a rectangle alone is what viewers snap to pixels (rules, bars)
        a, b, c, d, e, f = self.matrix
        points = [(u, v) for _, numbers in commands
                  for u, v in zip(numbers[::2], numbers[1::2], strict=True)]
        if not points:
            return None
        xs = [a * u + c * v + e for u, v in points]
        ys = [b * u + d * v + f for u, v in points]
        return min(xs), min(ys), max(xs), max(ys)

    def data(self, frame: Matrix) -> str:
        """The path's commands in the space of ``frame``'s linear part: the coordinates
        of ``frame^-1 @ matrix @ p``, rounded to 1/1000 pt (the glyphs of an equation
        stay in their font's units, whole numbers plus an offset, as compact as they
        were)."""
        a, b, c, d, _, _ = frame
        determinant = a * d - b * c
        # inverse of the linear part, then our whole transform
        inverse: Matrix = (d / determinant, -b / determinant, -c / determinant,
                           a / determinant, 0.0, 0.0)
        m = _multiply(inverse, self.matrix)
        stretch = max(abs(a) + abs(c), abs(b) + abs(d)) * self.scale  # points per unit
        digits = max(0, math.ceil(math.log10(stretch / PRECISION_PT)))
        parts: list[str] = []
        for letter, numbers in _commands(self.shape) or []:
            parts.append(letter)
            for u, v in zip(numbers[::2], numbers[1::2], strict=True):
                parts += [_format(m[0] * u + m[2] * v + m[4], digits),
                          _format(m[1] * u + m[3] * v + m[5], digits)]
        return " ".join(parts)


def _format(value: float, digits: int) -> str:
    text = f"{value:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def piece_of(element: ET.Element, paint: Paint, scale: float) -> Piece | None:
    """The path as a piece that may join others: only plain paths, opaque paint."""
    if set(element.attrib) - _MERGEABLE or "d" not in element.attrib or not paint.opaque:
        return None
    matrix = parse_transform(element.get("transform"))
    return None if matrix is None else Piece(element, paint, matrix, scale)


def _is_rectangle(commands: list[tuple[str, list[float]]]) -> bool:
    """Whether a path is one closed axis-aligned rectangle (a fraction bar, a rule)."""
    letters = "".join(letter for letter, _ in commands)
    if letters not in ("MLLLZ", "MLLLLZ"):
        return False
    points = [tuple(numbers) for _, numbers in commands if numbers]
    if any(len(point) != 2 for point in points):
        return False
    return len({x for x, _ in points}) == 2 and len({y for _, y in points}) == 2


def _invertible(matrix: Matrix) -> bool:
    a, b, c, d, _, _ = matrix
    return abs(a * d - b * c) > 1e-12


def _is_line(d: str) -> bool:
    """Whether a path is one straight segment."""
    commands = _commands(d)
    return commands is not None and [letter for letter, _ in commands] == ["M", "L"] and \
        len(commands[1][1]) == 2


def _meet(p: tuple[float, float, float, float], q: tuple[float, float, float, float]) -> bool:
    return p[0] <= q[2] and q[0] <= p[2] and p[1] <= q[3] and q[1] <= p[3]


def joins(run: list[Piece], piece: Piece) -> bool:
    """Whether ``piece`` can join the pieces of ``run`` in one path, pixel for pixel."""
    first = run[0]
    paint = piece.paint
    if piece.style != first.style or paint != first.paint:
        return False
    if first.box is None or piece.box is None or not _invertible(first.matrix):
        return False
    copies = all(p.shape == piece.shape and p.moves_only for p in run) and piece.moves_only
    if paint.stroke is not None:
        # strokes join only as copies of one marker: a stroke's width is not in the
        # coordinates, and viewers snap a lone straight line to the pixels (axes, ticks)
        if not copies or _is_line(piece.shape):
            return False
        # filled too: one colour, or the next copy's fill would cover this one's outline
        return paint.fill is None or (not paint.evenodd and paint.fill == paint.stroke)
    if not any(_meet(p.box, piece.box) for p in run if p.box):
        return True  # a fill of pieces that do not meet is theirs, whatever the winding
    return copies and not paint.evenodd

