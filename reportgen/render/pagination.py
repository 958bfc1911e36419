"""Floating figures between layouts: pages stay full although WeasyPrint has no page floats.

A figure (or table) that does not fit on what is left of a page starts the next page and
leaves the rest of the old one blank: WeasyPrint, following CSS, never lets later text
pass it. LaTeX would float the figure to the top of the next page and pull the following
text up into the gap. This module does the same from outside: it lays the handout out,
finds the first page left under-filled by a figure that moved on, moves that figure in
the HTML after as many of the following blocks as fill the gap, and lays out again. Each
move only ever takes a figure later, never past another figure (numbering stays in
order), so the loop ends; pages before a move keep their layout.

The flow blocks are the children of ``<body>`` and of each ``<section>``; each is marked
``data-flow="i"`` so that the laid-out boxes can be traced back to the source.

The laid-out boxes are read from ``Page._page_box``, a private attribute: WeasyPrint's
public ``Page`` (width, height, bleed, anchors, links, bookmarks, forms) gives an
element's top left corner through ``anchors`` but no box's height, and no page's content
area, and the gap test needs where each block ends. ``tests/test_pagination.py`` fails
at once if a WeasyPrint release renames it (the `lowest` session runs it at WeasyPrint 70,
the oldest we allow).
"""

from __future__ import annotations

import html.parser
import itertools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

#: Elements whose children are the flow blocks.
CONTAINERS = frozenset({"body", "section"})
#: Blocks that may be split across pages (the gap can take their first lines).
SPLITTABLE = frozenset({"p", "ul", "ol"})
HEADINGS = frozenset({"h1", "h2", "h3", "h4"})
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "source", "track", "wbr"})
ATTRIBUTE = "data-flow"
#: A page filled less than this (by height) is worth a move.
TARGET_FILL = 0.8
#: The least room (CSS px) worth pulling a paragraph into: about three lines.
MIN_SPLIT_ROOM = 60.0
MAX_MOVES = 16
#: A figure may float into the next section, no further (it stays near its text).
MAX_SECTIONS_PASSED = 1


@dataclass(frozen=True)
class Block:
    """One flow block of the source: where it is and what it is."""

    index: int  # in source order
    tag: str
    classes: tuple[str, ...]
    start: int  # offset of "<tag" in the source
    end: int  # offset just after its end tag
    marker: int | None  # its data-flow attribute: the same block through every move

    @property
    def floats(self) -> bool:
        """A figure or a wrapped table (break-inside: avoid in print): it may float."""
        return self.tag == "figure" or "table-wrap" in self.classes


class _Blocks(html.parser.HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.lines = [0]
        for match in re.finditer("\n", text):
            self.lines.append(match.end())
        self.text = text
        self.stack: list[str] = []
        self.open: tuple[str, tuple[str, ...], int, int | None] | None = None
        self.depth_open = 0
        self.blocks: list[Block] = []

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.lines[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent = self.stack[-1] if self.stack else None
        if self.open is None and parent in CONTAINERS and tag not in CONTAINERS and \
                tag not in ("script", "style"):
            values = dict(attrs)
            classes = tuple((values.get("class") or "").split())
            marker = values.get(ATTRIBUTE)
            self.open = (tag, classes, self._offset(), None if marker is None else int(marker))
            self.depth_open = len(self.stack)
            if tag in VOID:
                self._close(self._offset() + len(self.get_starttag_text() or ""))
                return
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        while self.stack:
            top = self.stack.pop()
            if top == tag:
                break
        if self.open is not None and len(self.stack) == self.depth_open and tag == self.open[0]:
            start = self._offset()
            self._close(self.text.index(">", start) + 1)

    def _close(self, end: int) -> None:
        assert self.open is not None
        tag, classes, start, marker = self.open
        self.blocks.append(Block(len(self.blocks), tag, classes, start, end, marker))
        self.open = None


def flow_blocks(text: str) -> list[Block]:
    """The flow blocks of an HTML document, in source order."""
    parser = _Blocks(text)
    parser.feed(text)
    parser.close()
    return parser.blocks


def mark(text: str) -> str:
    """The document with every flow block marked ``data-flow="<index>"``."""
    parts: list[str] = []
    last = 0
    for block in flow_blocks(text):
        cut = block.start + 1 + len(block.tag)
        parts += [text[last:cut], f' {ATTRIBUTE}="{block.index}"']
        last = cut
    parts.append(text[last:])
    return "".join(parts)


def move_after(text: str, moved: list[int], after: int) -> str:
    """The marked source with the consecutive blocks marked ``moved`` put right after the
    one marked ``after``."""
    blocks = {block.marker: block for block in flow_blocks(text)}
    first, last, target = blocks[moved[0]], blocks[moved[-1]], blocks[after]
    assert last.end <= target.start, "blocks only ever move later"
    piece = text[first.start:last.end]
    return (text[:first.start] + text[last.end:target.end] + "\n" + piece
            + text[target.end:])


@dataclass(frozen=True)
class Placed:
    """A flow block's fragment on one page (CSS px)."""

    block: Block
    top: float
    bottom: float  # of the border box: the ink, without the bottom margin
    continued: bool  # it began on an earlier page

    @property
    def height(self) -> float:
        return self.bottom - self.top


def _fragments(box: Any) -> Iterable[tuple[int, Any]]:
    element = getattr(box, "element", None)
    marker = element.get(ATTRIBUTE) if element is not None else None
    if marker is not None and element is not None and \
            getattr(box, "element_tag", None) == element.tag:
        yield int(marker), box
        return
    for child in getattr(box, "children", ()):
        yield from _fragments(child)


def placed_blocks(document: Any, blocks: list[Block]) -> list[list[Placed]]:
    """Per page, the (marked) flow blocks laid out on it, top to bottom."""
    by_marker = {block.marker: block for block in blocks}
    seen: set[int] = set()
    pages: list[list[Placed]] = []
    for page in document.pages:
        found: dict[int, Placed] = {}
        for index, box in _fragments(page._page_box):
            top = float(box.position_y)
            bottom = float(box.border_box_y() + box.border_height())
            if index in found:  # several boxes of one element (rare): their union
                old = found[index]
                top, bottom = min(top, old.top), max(bottom, old.bottom)
            found[index] = Placed(by_marker[index], top, bottom, index in seen)
        seen.update(found)
        pages.append(sorted(found.values(), key=lambda p: p.top))
    return pages


def page_area(document: Any) -> tuple[float, float]:
    """(top, height) of the first page's content area, CSS px."""
    box = document.pages[0]._page_box
    return float(box.content_box_y()), float(box.height)


def page_fills(document: Any, blocks: list[Block]) -> list[float]:
    """How far down each page's content reaches, as a share of the content area."""
    top, height = page_area(document)
    return [(max(p.bottom for p in placed) - top) / height if placed else 0.0
            for placed in placed_blocks(document, blocks)]


def _advances(pages: list[list[Placed]]) -> dict[int, float]:
    """How much height each block takes in the flow: to the next block's top on its page
    (margins included), summed over its fragments."""
    taken: dict[int, float] = {}
    for placed in pages:
        for here, after in itertools.zip_longest(placed, placed[1:]):
            step = (after.top - here.top) if after is not None else here.height + 8.0
            marker = here.block.marker
            assert marker is not None
            taken[marker] = taken.get(marker, 0.0) + max(step, here.height)
    return taken


def plan_move(document: Any, blocks: list[Block]) -> tuple[list[int], int] | None:
    """(floats to move, block to put them after) for the first under-filled page that a move
    fixes: the figure that opens the next page, with any figures right behind it, goes after
    the text that fills the gap."""
    top, height = page_area(document)
    pages = placed_blocks(document, blocks)
    taken = _advances(pages)
    order = [block for block in blocks if block.marker in taken]
    position = {block.marker: i for i, block in enumerate(order)}
    for here, there in itertools.pairwise(pages):
        if not here:
            continue
        bottom = max(p.bottom for p in here)
        if (bottom - top) / height >= TARGET_FILL:
            continue
        fresh = [p for p in there if not p.continued]
        if not fresh or not fresh[0].block.floats or fresh[0].height > 0.97 * height:
            continue
        start = position[fresh[0].block.marker]
        end = start
        while end + 1 < len(order) and order[end + 1].floats:
            end += 1
        group = [b.marker for b in order[start:end + 1] if b.marker is not None]
        after = _fill_with(order[end + 1:], taken, top + height - bottom)
        if after is not None:
            return group, after
    return None


def _fill_with(candidates: list[Block], taken: dict[int, float], gap: float) -> int | None:
    """The last of the blocks that, pulled up in order, fill ``gap`` without passing a figure,
    more than ``MAX_SECTIONS_PASSED`` section headings, or ending on a heading."""
    chosen: list[Block] = []
    used = 0.0
    headings = 0
    for block in candidates:
        if block.tag == "figure" or block.marker is None:
            break
        if block.tag == "h2":
            headings += 1
            if headings > MAX_SECTIONS_PASSED:
                break
        need = taken[block.marker]
        if used + need <= gap:
            chosen.append(block)
            used += need
            continue
        if block.tag in SPLITTABLE and gap - used >= MIN_SPLIT_ROOM:
            chosen.append(block)
        break
    while chosen and chosen[-1].tag in HEADINGS:
        chosen.pop()
    return chosen[-1].marker if chosen else None


Move = tuple[list[int], int]


class PlanStore(Protocol):
    """Where the moves found for a source are kept between builds (the figure cache)."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, text: str) -> None: ...


def _stored_moves(store: PlanStore | None, key: str, marked: str) -> tuple[list[Move], str]:
    """The moves kept for ``key`` and the source with them made; none if there are none or
    they do not fit this source (a damaged entry is ignored, never trusted)."""
    text = store.get(key) if store is not None else None
    if text is None:
        return [], marked
    try:
        moves = [(list(map(int, group)), int(after)) for group, after in json.loads(text)]
        moved = marked
        for group, after in moves[:MAX_MOVES]:
            moved = move_after(moved, group, after)
    except (ValueError, TypeError, KeyError, IndexError, AssertionError):
        return [], marked
    return moves[:MAX_MOVES], moved


def fill_pages(text: str, layout: Callable[[str], Any], store: PlanStore | None = None,
               key: str = "") -> tuple[Any, str]:
    """Lay ``text`` out, floating figures until no move helps; (document, final source).

    With a ``store``, the moves found are kept under ``key`` (a digest of everything the
    layout depends on), and a later build of the same source makes them before its first
    layout: one layout instead of one per move. The loop then goes on as it would have
    (layouts are deterministic, so it finds nothing more to move), so the result is the
    same document either way.
    """
    moves, marked = _stored_moves(store, key, mark(text))
    found = list(moves)
    document = layout(marked)
    for _ in range(MAX_MOVES - len(moves)):
        move = plan_move(document, flow_blocks(marked))
        if move is None:
            break
        found.append(move)
        marked = move_after(marked, *move)
        document = layout(marked)
    if store is not None and found != moves:
        store.put(key, json.dumps(found))
    return document, marked
