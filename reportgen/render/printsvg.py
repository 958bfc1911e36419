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

When paths may join is :mod:`reportgen.render.svgpaths`'s; how a label is measured,
:mod:`reportgen.render.svgtext`'s; this module reads, rewrites and writes the tree.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from reportgen.render.svgpaths import (
    IDENTITY,
    NUMBER,
    Paint,
    Piece,
    joins,
    parse_transform,
    piece_of,
    style_declarations,
)
from reportgen.render.svgtext import anchor_at_start

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
_IDENTITY_ROTATION = re.compile(rf"rotate\(\s*-?0(?:\.0*)?(?:[\s,]+{NUMBER}){{0,2}}\s*\)")


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
        found.update(style_declarations(element.get("style")))
        return found


def _universal(root: ET.Element) -> dict[str, str]:
    """The declarations of every ``*`` rule (``_understood`` admits no other selector)."""
    found: dict[str, str] = {}
    for element in root.iter(f"{{{SVG_NS}}}style"):
        rules = re.sub(r"/\*.*?\*/", "", element.text or "", flags=re.S)
        for body in re.findall(r"\{([^{}]*)\}", rules):
            found.update(style_declarations(body))
    return found


# ---------------------------------------------------------------- the rewrite


def _root_scale(root: ET.Element) -> float:
    """Points per user unit of the SVG (its width over its viewBox's), at least roughly:
    it only decides how many digits a joined path keeps."""
    units = {"pt": 1.0, "px": 0.75, "": 0.75, "in": 72.0, "mm": 72 / 25.4, "cm": 72 / 2.54}
    width = re.fullmatch(rf"({NUMBER})\s*(pt|px|in|mm|cm|)", (root.get("width") or "").strip())
    box = (root.get("viewBox") or "").replace(",", " ").split()
    try:
        if width is not None and len(box) == 4 and float(box[2]) > 0:
            return float(width[1]) * units[width[2]] / float(box[2])
    except ValueError:
        pass
    return 1.0


def _stretch(transform: str | None) -> float:
    """How much a transform can lengthen a vector (its matrix's largest row sum)."""
    matrix = parse_transform(transform)
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
            anchor_at_start(child, {**inherited, **document.style(child)})
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
    style = {**style_declarations(use.get("style")), **style_declarations(target.get("style"))}
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
            piece = piece_of(child, Paint.of({**inherited, **document.style(child)}), scale)
        if piece is not None and run and joins(run, piece):
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
