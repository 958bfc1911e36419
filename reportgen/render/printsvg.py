"""SVGs as WeasyPrint draws them fastest: the same picture in fewer nodes.

WeasyPrint draws an SVG node by node in Python: each node costs a cascade, a graphics
state and its transform, each ``<use>`` a copy of what it references. matplotlib writes
every glyph of a typeset equation as a ``<use>`` of the glyph's outline, and every
marker of a line as a ``<use>`` of the marker's shape, so an equation of 40 glyphs is 40
copies where one path would do. :func:`lighten` rewrites an SVG for the PDF only (the
HTML and the figure files keep what matplotlib wrote):

- ``<metadata>`` goes, and comments;
- a ``<use>`` of a ``<path>`` becomes that path, with the use's place and style;
- consecutive sibling paths of one style become one path, their transforms applied to
  their coordinates, where that cannot change a pixel: opaque colours, and either a fill
  of pieces whose bounding boxes do not meet, or copies of one shape (a marker) moved by
  translations, filled and stroked in one colour. Lone rectangles and straight lines
  stay alone: viewers snap them to the pixel grid (rules, axes, ticks);
- identity rotations (``rotate(-0 x y)``, on every tick label of a figure) go;
- a centred or end-anchored label is moved to its start, measured as WeasyPrint measures
  it, so that WeasyPrint does not draw it in a PDF group of its own.

An SVG it does not fully understand (a stylesheet with selectors, other namespaces,
relative or arc path commands, entities) is returned as it is, and so is any path it
cannot read. Tests compare the rasterised pages before and after.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
_PREFIXES = {SVG_NS: "", XLINK_NS: "xlink:"}
HREF = f"{{{XLINK_NS}}}href"
#: Larger SVGs are drawn as they are (reading them twice would cost more than it saves).
MAX_CHARS = 4_000_000

#: Inherited properties that decide whether paths can merge or how a text is laid out.
_INHERITED = ("fill", "stroke", "fill-opacity", "stroke-opacity", "fill-rule", "font-family",
              "font-size", "font-weight", "font-style", "letter-spacing", "word-spacing",
              "direction", "text-anchor")
#: The only attributes a path may have to join others (a referenced id, a clip, a mask, a
#: marker or an opacity of its own would be lost or change meaning).
_MERGEABLE = frozenset({"d", "style", "transform"})
_COLOUR = re.compile(r"#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}|[a-zA-Z]+")
_NOT_COLOURS = frozenset({"none", "transparent", "currentcolor", "inherit"})
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PATH_TOKENS = re.compile(rf"[MLQCZz]|{_NUMBER}")
_PATH_CHARACTERS = re.compile(r"[\sMLQCZz0-9.,eE+-]*")
_ARITY = {"M": 2, "L": 2, "Q": 4, "C": 6}
_TRANSFORM = re.compile(r"\s*(translate|scale|rotate|matrix)\s*\(([^)]*)\)\s*,?")
_IDENTITY_ROTATION = re.compile(rf"rotate\(\s*-?0(?:\.0*)?(?:[\s,]+{_NUMBER}){{0,2}}\s*\)")

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def lighten(text: str) -> str:
    """The SVG ``text`` with fewer nodes for WeasyPrint to draw, or ``text`` itself where it
    holds anything this module does not understand."""
    return _lighten(text)


@functools.lru_cache(maxsize=64)
def _lighten(text: str) -> str:
    """``lighten``, kept per process: a warm worker draws the same equations for every
    variant of a batch."""
    if len(text) > MAX_CHARS or "<!ENTITY" in text:
        return text
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return text
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag == f"{{{SVG_NS}}}metadata":
                parent.remove(child)
    if root.tag != f"{{{SVG_NS}}}svg" or not _understood(root):
        return text
    document = Document(
        paths={el.get("id"): el for el in root.iter(f"{{{SVG_NS}}}path") if el.get("id")},
        referred=_referred(root), universal=_universal(root))
    _simplify(root, document, {}, _root_scale(root))
    _drop_unused_definitions(root)
    return _serialise(root)


def _understood(root: ET.Element) -> bool:
    """Whether every element is SVG's own, every attribute SVG's or XLink's, and every
    stylesheet rule a ``*`` rule (selectors could tell the pieces apart once merged)."""
    for element in root.iter():
        if not isinstance(element.tag, str) or not element.tag.startswith(f"{{{SVG_NS}}}"):
            return False
        if any(name.startswith("{") and not name.startswith(f"{{{XLINK_NS}}}")
               for name in element.attrib):
            return False
        if _local(element.tag) == "style":
            rules = re.sub(r"/\*.*?\*/", "", element.text or "", flags=re.S)
            if any(selector.strip() != "*" for selector in re.findall(r"([^{}]*)\{", rules)):
                return False
    return True


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# ---------------------------------------------------------------- styles


@dataclass(frozen=True)
class Document:
    """What the rewrite of one SVG consults: its paths by id, the ids something refers
    to, and the declarations of its stylesheet's ``*`` rules."""

    paths: dict[str | None, ET.Element]
    referred: set[str]
    universal: dict[str, str]

    def style(self, element: ET.Element) -> dict[str, str]:
        """The element's own properties in CSS's order: presentation attributes, then the
        ``*`` rules, then its ``style`` attribute."""
        found = {name: value for name, value in element.attrib.items() if name in _INHERITED}
        found.update(self.universal)
        found.update(_declarations(element.get("style")))
        return found


def _universal(root: ET.Element) -> dict[str, str]:
    """The declarations of every ``*`` rule (``_understood`` admits no other selector)."""
    found: dict[str, str] = {}
    for element in root.iter(f"{{{SVG_NS}}}style"):
        rules = re.sub(r"/\*.*?\*/", "", element.text or "", flags=re.S)
        for body in re.findall(r"\{([^{}]*)\}", rules):
            found.update(_declarations(body))
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


def _transform(text: str | None) -> Matrix | None:
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


def _piece(element: ET.Element, paint: Paint, scale: float) -> Piece | None:
    """The path as a piece that may join others: only plain paths, opaque paint."""
    if set(element.attrib) - _MERGEABLE or "d" not in element.attrib or not paint.opaque:
        return None
    matrix = _transform(element.get("transform"))
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


def _joins(run: list[Piece], piece: Piece) -> bool:
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


# ---------------------------------------------------------------- the rewrite


def _root_scale(root: ET.Element) -> float:
    """Points per user unit of the SVG (its width over its viewBox's), at least roughly:
    it only decides how many digits a joined path keeps."""
    units = {"pt": 1.0, "px": 0.75, "": 0.75, "in": 72.0, "mm": 72 / 25.4, "cm": 72 / 2.54}
    width = re.fullmatch(rf"({_NUMBER})\s*(pt|px|in|mm|cm|)", (root.get("width") or "").strip())
    box = (root.get("viewBox") or "").replace(",", " ").split()
    try:
        if width is not None and len(box) == 4 and float(box[2]) > 0:
            return float(width[1]) * units[width[2]] / float(box[2])
    except ValueError:
        pass
    return 1.0


def _stretch(transform: str | None) -> float:
    """How much a transform can lengthen a vector (its matrix's largest row sum)."""
    matrix = _transform(transform)
    if matrix is None:
        return 1.0
    a, b, c, d, _, _ = matrix
    return max(abs(a) + abs(c), abs(b) + abs(d))


def _simplify(parent: ET.Element, document: Document, inherited: dict[str, str],
              scale: float) -> None:
    """Rewrite ``parent``'s children in place: plain groups opened, neighbouring groups
    of one clip joined, uses inlined, runs of paths merged."""
    children: list[ET.Element] = []
    for child in list(_opened(list(parent), document.referred)):
        if _local(child.tag) == "use":
            child = _inlined(child, document.paths)
        transform = child.get("transform")
        if transform is not None and _IDENTITY_ROTATION.fullmatch(transform.strip()):
            del child.attrib["transform"]
        if _local(child.tag) == "text":
            _anchor_at_start(child, {**inherited, **document.style(child)})
        if _local(child.tag) not in ("defs", "clipPath", "mask", "pattern", "marker", "symbol"):
            _simplify(child, document, {**inherited, **document.style(child)},
                      scale * _stretch(child.get("transform")))
        children.append(child)
    parent[:] = list(_merged(children, document, inherited, scale))


#: What a group may carry and still be joined with its neighbour of the same attributes:
#: a clip, a transform or a style applies to each child alike (an opacity or a mask
#: would composite the group as a whole).
_JOINABLE_GROUP = frozenset({"clip-path", "transform", "style"})


def _opened(children: list[ET.Element], referred: set[str]) -> Iterator[ET.Element]:
    """``children`` with each group that carries nothing (its id unreferred) replaced by
    its children, and neighbouring groups with the same clip, transform and style joined
    into one."""
    previous: ET.Element | None = None
    for child in children:
        if not isinstance(child.tag, str):
            continue
        if _local(child.tag) == "g":
            if child.get("id") is not None and child.get("id") not in referred:
                del child.attrib["id"]
            if not child.attrib:
                yield from _opened(list(child), referred)
                previous = None
                continue
            if previous is not None and child.attrib == previous.attrib and \
                    not set(child.attrib) - _JOINABLE_GROUP and \
                    "opacity" not in child.get("style", ""):
                previous.extend(list(child))
                previous.tail = child.tail
                continue
            previous = child
        else:
            previous = None
        yield child


#: The font matplotlib writes figure text in, and the one file of it we measure.
TEXT_FONT = "DejaVu Sans"
_ANCHOR_SHARE = {"middle": 0.5, "end": 1.0}
#: Pango's units per pixel.
PANGO_SCALE = 1024
_TEXT_ATTRIBUTES = frozenset({"x", "y", "style", "transform"})


@functools.cache
def text_advances() -> tuple[dict[int, int], int] | None:
    """DejaVu Sans's advance widths by code point and its units per em (matplotlib's copy
    of the font, found without importing matplotlib, read with fontTools, which WeasyPrint
    depends on), or None."""
    try:
        from fontTools.ttLib import TTFont

        spec = importlib.util.find_spec("matplotlib")
        assert spec is not None and spec.origin is not None
        path = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        font = TTFont(path, lazy=True)
        metrics = font["hmtx"]
        return ({code: metrics[glyph][0] for code, glyph in font.getBestCmap().items()},
                font["head"].unitsPerEm)
    except Exception:  # no font, no fontTools: anchors are left to WeasyPrint
        return None


def _anchor_at_start(text: ET.Element, effective: dict[str, str]) -> None:
    """Move a centred or end-anchored DejaVu Sans text to its start, in place.

    WeasyPrint draws every such text into a group of its own (a PDF form XObject) to
    measure it before shifting it; a text that starts where it is drawn needs none (and
    extracting the text of a PDF with hundreds of form XObjects is slow: pypdf reads the
    fonts again for each). WeasyPrint lays an SVG text out letter by letter (no kerning),
    so the text's width is the sum of its letters' advances, each as HarfBuzz rounds it
    at the font size WeasyPrint gives Pango (1/1024 px units): the same numbers, to the
    last bit, as WeasyPrint's own measure. Texts in another font, with spacing, several
    positions or inner elements are left as they are.
    """
    share = _ANCHOR_SHARE.get(effective.get("text-anchor", "start"))
    content = text.text or ""
    advances = text_advances()
    if share is None or advances is None or len(text) or set(text.attrib) - _TEXT_ATTRIBUTES \
            or not content or content != " ".join(content.split()) \
            or effective.get("font-family", "").strip("'\" ") != TEXT_FONT \
            or effective.get("font-weight", "normal") not in ("normal", "400") \
            or effective.get("font-style", "normal") != "normal" \
            or effective.get("direction", "ltr") != "ltr" \
            or any(name in effective for name in ("letter-spacing", "word-spacing")):
        return
    size = re.fullmatch(rf"({_NUMBER})(?:px)?", effective.get("font-size", "").strip())
    widths, units = advances
    try:
        x = float(text.get("x", "0"))
    except ValueError:
        return
    if size is None or any(ord(letter) not in widths for letter in content):
        return
    scale = int(float(size[1]) * PANGO_SCALE)  # WeasyPrint truncates the size so
    width = sum((widths[ord(letter)] * scale + units // 2) // units for letter in content)
    text.set("x", repr(x - share * width / PANGO_SCALE))
    declarations = _declarations(text.get("style"))
    declarations["text-anchor"] = "start"  # over the text's own or an inherited anchor
    text.set("style", "; ".join(f"{k}: {v}" for k, v in declarations.items()))


def _inlined(use: ET.Element, paths: dict[str | None, ET.Element]) -> ET.Element:
    """The path a ``<use>`` draws, as an element in its place (or the use itself)."""
    href = use.get(HREF) or use.get("href") or ""
    target = paths.get(href[1:]) if href.startswith("#") else None
    if target is None or len(target) or set(use.attrib) - {HREF, "href", "x", "y", "style",
                                                             "transform"}:
        return use
    place = " ".join(part for part in (
        use.get("transform"),
        f"translate({use.get('x', '0')} {use.get('y', '0')})" if "x" in use.attrib or
        "y" in use.attrib else None,
        target.get("transform")) if part)
    style = {**_declarations(use.get("style")), **_declarations(target.get("style"))}
    path = ET.Element(f"{{{SVG_NS}}}path", {"d": target.get("d", "")})
    for name, value in target.attrib.items():
        if name not in ("id", "d", "style", "transform"):
            path.set(name, value)
    if place:
        path.set("transform", place)
    if style:
        path.set("style", "; ".join(f"{k}: {v}" for k, v in style.items()))
    path.tail = use.tail
    return path


def _declarations(style: str | None) -> dict[str, str]:
    found = {}
    for declaration in (style or "").split(";"):
        name, colon, value = declaration.partition(":")
        if colon:
            found[name.strip()] = value.strip()
    return found


def _merged(children: list[ET.Element], document: Document, inherited: dict[str, str],
            scale: float) -> Iterator[ET.Element]:
    """The children with each run of joinable paths replaced by one path."""
    run: list[Piece] = []

    def flush() -> Iterator[ET.Element]:
        if len(run) == 1:
            yield run[0].element
        elif run:
            frame = run[0].matrix
            path = ET.Element(f"{{{SVG_NS}}}path", {"d": " ".join(p.data(frame) for p in run)})
            if frame[:4] != IDENTITY[:4]:
                path.set("transform", "matrix({} {} {} {} 0 0)".format(*map(repr, frame[:4])))
            if run[0].style:
                path.set("style", run[0].style)
            path.tail = run[-1].element.tail
            yield path
        run.clear()

    for child in children:
        piece = None
        if _local(child.tag) == "path":
            piece = _piece(child, Paint.of({**inherited, **document.style(child)}), scale)
        if piece is not None and run and _joins(run, piece):
            run.append(piece)
            continue
        yield from flush()
        if piece is not None:
            run.append(piece)
        else:
            yield child
    yield from flush()


def _referred(root: ET.Element) -> set[str]:
    """Every id that an attribute refers to (``#id`` or ``url(#id)``)."""
    referred: set[str] = set()
    for element in root.iter():
        for value in element.attrib.values():
            referred.update(re.findall(r"#([^)\s\"']+)", value))
    return referred


def _drop_unused_definitions(root: ET.Element) -> None:
    """Remove the path definitions no ``<use>`` or ``url(#...)`` refers to any more, then
    any ``<defs>`` left empty."""
    referred = _referred(root)
    for defs in list(root.iter(f"{{{SVG_NS}}}defs")):
        for child in list(defs):
            if _local(child.tag) == "path" and child.get("id") not in referred:
                defs.remove(child)
    for parent in list(root.iter()):
        for child in list(parent):
            if _local(child.tag) == "defs" and not len(child):
                parent.remove(child)


def _serialise(root: ET.Element) -> str:
    out = [f'<svg xmlns="{SVG_NS}" xmlns:xlink="{XLINK_NS}"']
    out += [f" {_name(k)}={quoteattr(v)}" for k, v in root.attrib.items()]
    out.append(">" + escape(root.text or ""))
    for child in root:
        _write(child, out)
    out.append("</svg>\n")
    return "".join(out)


def _write(element: ET.Element, out: list[str]) -> None:
    tag = _name(element.tag)
    out.append(f"<{tag}" + "".join(f" {_name(k)}={quoteattr(v)}"
                                   for k, v in element.attrib.items()))
    if len(element) or element.text:
        out.append(">" + escape(element.text or ""))
        for child in element:
            _write(child, out)
        out.append(f"</{tag}>")
    else:
        out.append("/>")
    out.append(escape(element.tail or ""))


def _name(name: str) -> str:
    if name.startswith("{"):
        namespace, local = name[1:].split("}", 1)
        return _PREFIXES[namespace] + local
    return name
