"""Results -> ``handout.ipynb``: the handout as a notebook that recomputes its numbers.

The notebook carries the handout's text (its sections as the rendered page has them,
read by :mod:`reportgen.render.markdown`) and after each section the numpy code that
reproduces what the section shows: the data from the config's seed, the closed form, the
curvature, the loss surface, every run with the handout's own algorithm
(:data:`reportgen.render.algorithms.ALGORITHMS`, keeping each step's θ for the figures),
and the figures, drawn with matplotlib. It imports numpy and matplotlib only, never
reportgen or JAX. Its last cell prints one JSON line of what it reproduced, under
results.json's own keys (``runs[].name``, ``runs[].final_theta``, ``ols.theta``,
``surface.min_loss``, ``surface.argmin``), so anyone can compare.

A copy's code holds nothing the copy withholds. A block of code is left out when the
results it is handed lack a quantity the block computes (a student view's None), and in a
student copy when the block computes an exercise's answer (or a part of it); a student
copy's exercises get a marked place for the answer (``answer = ...``), an instructor
copy's the solution as code. Nothing is executed at build time: a student copy has no
outputs that could give an answer away, and running an instructor copy would need a
Jupyter kernel in every build and take time that grows with the config's epochs and n.

The file is canonical, so two builds give the same bytes: nbformat's writer (sorted
keys), a fixed kernelspec, no execution counts, outputs or timestamps, and cell ids
derived from each cell's content.

The code is made in ``render.notebook_blocks`` (the runs' algorithms rewritten by
``render.notebook_algorithms``); this module puts it between the handout's sections and
writes the file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from reportgen.render.markdown import EXERCISES_ANCHOR, HandoutText, escape, read_handout
from reportgen.render.notebook_blocks import blocks
from reportgen.store.results import Results

#: The kernel a notebook names: Jupyter's default Python kernel, no version recorded.
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
LANGUAGE_INFO = {"name": "python"}
#: Letters a cell id is spelled with: no digits, so that an id never reads as a number.
ID_LETTERS = "abcdefghijklmnopqrstuvwxyz"
ID_LENGTH = 16


# ---------------------------------------------------------------- the cells


def _header(results: Results, text: HandoutText) -> str:
    title = text.title or escape(results.config.title)
    lines = [f"# {title}", *text.header, ""]
    lines.append("This notebook is the handout's code: run it from the top to recompute the "
                 "data, the closed form, the loss surface and every run, and to draw the "
                 "figures (numpy and matplotlib only). Its last cell prints what it "
                 "reproduced, to compare with the report's `results.json`.")
    if results.is_student_copy:
        lines.append("\nNothing in it has been run yet. The exercises are near the end: each "
                     "has a cell with `answer = ...` for your answer.")
    elif results.config.exercises:
        lines.append("\nInstructor copy: each exercise's worked solution is a code cell; run "
                     "the notebook to see the answers computed.")
    return "\n".join(lines)


def _section_markdown(heading: str, parts: Sequence[str]) -> str:
    """A section's heading and parts; list items one per line, as one list."""
    out = f"## {heading}" if heading else ""
    item = re.compile(r"^(- |1\. )")
    for before, part in zip(["", *parts], parts, strict=False):
        tight = item.match(before) is not None and item.match(part) is not None
        out += ("\n" if tight else "\n\n" if out else "") + part
    return out


def cells(results: Results, text: HandoutText) -> list[tuple[str, str]]:
    """The notebook's cells as (kind, source): each section's text, then its code.

    Code keeps the order of :func:`blocks` whatever order the page's sections come in:
    a section's blocks are preceded by every earlier block not yet written, and blocks
    whose section the page lacks come under their own heading.
    """
    made = blocks(results, text)
    out: list[tuple[str, str]] = [("markdown", _header(results, text))]
    written = 0

    def write_until(stop: int) -> None:
        nonlocal written
        while written < stop:
            block = made[written]
            if (not block.anchor or text.section(block.anchor) is None) \
                    and (written == 0 or made[written - 1].title != block.title):
                out.append(("markdown", f"## {escape(block.title)}"))
            out.append(("markdown", block.note))
            out.append(("code", block.code))
            written += 1

    for section in text.sections:
        exercises = section.anchor == EXERCISES_ANCHOR
        out.append(("markdown", _section_markdown(section.heading,
                                                  [] if exercises else section.parts)))
        if section.anchor:
            last = max((i for i, block in enumerate(made) if block.anchor == section.anchor),
                       default=-1)
            write_until(last + 1)
    write_until(len(made))
    return [(kind, source) for kind, source in out if source.strip()]


def cell_id(kind: str, source: str, taken: set[str]) -> str:
    """A cell's id from its content: letters only, the same in every build."""
    attempt = 0
    while True:
        digest = hashlib.sha256(f"{kind}\0{source}\0{attempt}".encode()).digest()
        found = "".join(ID_LETTERS[byte % len(ID_LETTERS)] for byte in digest[:ID_LENGTH])
        if found not in taken:
            taken.add(found)
            return found
        attempt += 1


def notebook(results: Results, html: str) -> Any:
    """The notebook (an ``nbformat`` node) of these results and their rendered page."""
    import nbformat
    from nbformat import v4

    text = read_handout(html)
    made = v4.new_notebook(metadata={"kernelspec": dict(KERNELSPEC),
                                     "language_info": dict(LANGUAGE_INFO)})
    taken: set[str] = set()
    for kind, source in cells(results, text):
        cell = v4.new_code_cell(source) if kind == "code" else v4.new_markdown_cell(source)
        cell["id"] = cell_id(kind, source, taken)
        made.cells.append(cell)
    nbformat.validate(made)
    return made


def render_notebook(results: Results, html: str) -> bytes:
    """``handout.ipynb``: validated by nbformat, the same bytes for the same inputs."""
    import nbformat

    text = nbformat.writes(notebook(results, html), version=4)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")
