"""The handout's text as Markdown, read from its rendered HTML: the notebook's prose.

The notebook says what the handout says: its sections, their paragraphs (and so their
claims) and equations, with the numbers the page printed, withheld (▢) wherever the copy
withholds them. Reading the rendered page rather than the templates keeps the prose in
one place, whatever the templates (or a user's ``--templates``) write.

Inline markup becomes Markdown (``**strong**``, ``*em*``, backticks) or the HTML that
Jupyter renders (``<sub>``, ``<sup>``); display equations become LaTeX, from
:data:`reportgen.render.mathtex.EQUATIONS` by the equation's id; matrices become
``pmatrix``. Figures, tables, code listings, navigation and form fields are left out:
the notebook draws, computes and asks for those itself. Every piece of text is escaped,
so no page can inject Markdown, HTML or math into a cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from reportgen.render.mathtex import EQUATIONS

#: Elements whose content the notebook replaces with its own (or does without).
SKIPPED = frozenset({"figure", "table", "nav", "pre", "script", "style", "head", "footer",
                     "picture", "svg", "title", "form", "button", "select", "textarea",
                     "label", "aside"})
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "source", "track", "wbr"})
PARAGRAPHS = frozenset({"p", "li", "h1", "h2", "h3", "h4", "blockquote", "dd", "dt"})
#: Where the exercises live on the page (``partials/exercises.html``).
EXERCISES_ANCHOR = "exercises"
EXERCISE_PREFIX = "exercise-"
#: The box of key points (``partials/key_points.html``): an aside that is kept.
KEY_POINTS_CLASS = "keybox"

_SPECIAL = re.compile(r"([\\`*_\[\]<>#|$&~])")
_BLOCK_START = re.compile(r"^(\d+)([.)])(\s)|^([-+=>])(\s)")


def escape(text: str) -> str:
    """Plain text as Markdown that shows exactly that text (no markup, HTML or math)."""
    return _SPECIAL.sub(r"\\\1", text)


def _unblock(text: str) -> str:
    """A paragraph that does not start a list, a quote or a heading underline."""
    return _BLOCK_START.sub(lambda m: (f"{m[1]}\\{m[2]}{m[3]}" if m[1] is not None
                                       else f"\\{m[4]}{m[5]}"), text, count=1)


def equation_latex(element_id: str) -> str | None:
    """The LaTeX of a display equation by its HTML id (``eq-gd-run-1`` -> ``gd``)."""
    name = element_id.removeprefix("eq-")
    known = [key for key in EQUATIONS if name == key or name.startswith(key + "-")]
    if not known:
        return None
    source = EQUATIONS[max(known, key=len)][0].strip()
    return source[1:-1] if source.startswith("$") and source.endswith("$") else source


@dataclass
class Section:
    """One section of the page: its id, heading and Markdown parts (paragraphs, list
    items, display equations), in order."""

    anchor: str
    heading: str = ""
    parts: list[str] = field(default_factory=list)


@dataclass
class HandoutText:
    """What the notebook reads of the page."""

    title: str = ""
    header: list[str] = field(default_factory=list)  # author and date, who the copy is for
    sections: list[Section] = field(default_factory=list)
    exercises: dict[str, list[str]] = field(default_factory=dict)  # id -> its paragraphs

    def section(self, anchor: str) -> Section | None:
        """The section with this id, if the page has one."""
        return next((s for s in self.sections if s.anchor == anchor), None)


@dataclass
class _Open:
    tag: str
    role: str  # skip, section, exercise, header, para, list, matrix, row, frac, inline
    close: str = ""  # Markdown written when the element closes
    count: int = 0  # rows of a matrix, cells of a row, parts of a fraction


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = HandoutText()
        self.stack: list[_Open] = []
        self.current = Section("")
        self.text.sections.append(self.current)
        self.exercise: str | None = None
        self.buffer: list[str] | None = None
        self.prefix = ""
        self.heading = ""  # the tag of the heading being read, if any
        self.dropped = False  # the paragraph holds a form field: left out

    # -- where text goes

    def _skipping(self) -> bool:
        return any(item.role == "skip" for item in self.stack)

    def _in(self, role: str) -> _Open | None:
        return next((item for item in reversed(self.stack) if item.role == role), None)

    def _start_paragraph(self, tag: str, prefix: str = "") -> None:
        self._flush()
        self.buffer, self.prefix, self.dropped = [], prefix, False
        self.heading = tag if tag[0] == "h" and tag[1:].isdigit() else ""

    def _flush(self) -> None:
        if self.buffer is None:
            return
        text = " ".join("".join(self.buffer).split())
        buffer_heading, self.buffer = self.heading, None
        if not text or self.dropped:
            return
        if self._in("header") is not None:
            if buffer_heading == "h1":
                self.text.title = text
            else:
                self.text.header.append(_unblock(text))
        elif buffer_heading in ("h1", "h2") and not self.current.heading:
            self.current.heading = text
        elif self.exercise is not None:
            self.text.exercises.setdefault(self.exercise, []).append(self.prefix + _unblock(text))
        elif buffer_heading:
            self.current.parts.append("#" * (int(buffer_heading[1]) + 1) + " " + text)
        else:
            self.current.parts.append(self.prefix + _unblock(text))

    def _write(self, markdown: str) -> None:
        if self.buffer is not None and not self._skipping():
            self.buffer.append(markdown)

    def _new_section(self, anchor: str) -> None:
        self._flush()
        self.current = Section(anchor)
        self.text.sections.append(self.current)

    # -- the parser's callbacks

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        classes = set(values.get("class", "").split())
        if tag in VOID:
            if tag == "input" and self.buffer is not None:
                self.dropped = True
            elif tag == "br":
                self._write(" ")
            return
        if self._skipping():
            self.stack.append(_Open(tag, "skip"))
            return
        self.stack.append(self._open(tag, values, classes))

    def _open(self, tag: str, values: dict[str, str], classes: set[str]) -> _Open:
        if tag == "aside" and KEY_POINTS_CLASS in classes:
            self._new_section(values.get("aria-labelledby") or "key-points")
            return _Open(tag, "section")
        if tag in SKIPPED or "field" in classes:
            return _Open(tag, "skip")
        if tag == "section":
            self._new_section(values.get("id", ""))
            return _Open(tag, "section")
        if tag == "header":
            return _Open(tag, "header")
        if tag == "div" and "equation" in classes:
            self._flush()
            latex = equation_latex(values.get("id", ""))
            if latex is not None:
                self.current.parts.append(f"$$\n{latex}\n$$")
            return _Open(tag, "skip")
        if tag == "li" and values.get("id", "").startswith(EXERCISE_PREFIX):
            self._flush()
            self.exercise = values["id"].removeprefix(EXERCISE_PREFIX)
            return _Open(tag, "exercise")
        if tag in ("ul", "ol"):
            self._flush()
            return _Open(tag, "list")
        if tag in PARAGRAPHS:
            listing = self._in("list")
            self._start_paragraph(tag, ("1. " if listing.tag == "ol" else "- ")
                                  if tag == "li" and listing is not None else "")
            return _Open(tag, "para")
        return self._inline(tag, classes)

    def _inline(self, tag: str, classes: set[str]) -> _Open:
        parent = self.stack[-1] if self.stack else None
        if "matrix" in classes:
            self._write(r"$\begin{pmatrix} ")
            return _Open(tag, "matrix", r" \end{pmatrix}$")
        if "mrow" in classes and parent is not None and parent.role == "matrix":
            self._write(r" \\ " if parent.count else "")
            parent.count += 1
            return _Open(tag, "row")
        if "mcell" in classes and parent is not None and parent.role == "row":
            self._write(" & " if parent.count else "")
            parent.count += 1
            return _Open(tag, "inline")
        if "frac" in classes:
            self._write(r"$\frac")
            return _Open(tag, "frac", "$")
        if parent is not None and parent.role == "frac":
            self._write("{")
            return _Open(tag, "inline", "}")
        marks = {"strong": "**", "b": "**", "em": "*", "i": "*", "cite": "*", "code": "`",
                 "sub": "<sub>", "sup": "<sup>"}
        mark = marks.get(tag, "")
        self._write(mark)
        return _Open(tag, "inline", mark.replace("<", "</") if mark.startswith("<") else mark)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID or not any(item.tag == tag for item in self.stack):
            return
        while self.stack:
            item = self.stack.pop()
            self._close(item)
            if item.tag == tag:
                return

    def _close(self, item: _Open) -> None:
        if item.role == "skip":
            return
        if item.role == "para":
            self._flush()
        elif item.role == "exercise":
            self._flush()
            self.exercise = None
        elif item.role == "section":
            self._new_section("")
        elif item.close:
            self._write(item.close)

    def handle_data(self, data: str) -> None:
        if self.buffer is None or self._skipping():
            return
        in_math = any(item.role in ("matrix", "frac") for item in self.stack)
        in_code = any(item.tag == "code" for item in self.stack)
        if in_math:
            self._write(re.sub(r"[\\{}$]", "", data))
        elif in_code:
            self._write(data.replace("`", "'"))
        else:
            self._write(escape(data))

    def close(self) -> None:
        super().close()
        self._flush()


def read_handout(html: str) -> HandoutText:
    """The title, header lines, sections and exercises of a rendered handout page."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    text = reader.text
    text.sections = [s for s in text.sections if s.heading or s.parts]
    return text
