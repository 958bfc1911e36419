"""A batch's ``index.html``: every variant side by side, and one comparison figure; for a
course, every student with their folders, build state, key and marks.

Reads each variant's values and typed results (a course's rows are plain data read from
the batch folder's files by ``course.index``); never JAX. The page is self-contained like
a handout: the figure is an inline SVG and nothing is fetched. The template reads plain
data only (no results object reaches it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib as mpl
from markupsafe import Markup
from matplotlib.figure import Figure

from reportgen.render.figures.style import STYLE, TEXT_WIDTH_IN, run_style, svg_text
from reportgen.render.html import (
    check_self_contained,
    environment,
    with_content_security_policy,
)
from reportgen.render.mathtex import svg_data_uri
from reportgen.render.policy import CONTENT_SECURITY_POLICY
from reportgen.store.results import Results

TEMPLATE = "batch.html"


@dataclass(frozen=True)
class Summary:
    """One variant of a batch, as its index row shows it."""

    id: str
    values: Mapping[str, Any]
    student: dict[str, Any] | None
    status: str
    error: str | None
    results: Results | None
    files: list[str]
    copy: str | None = None

    def row(self) -> dict[str, Any]:
        """What the template reads of the variant (plain data)."""
        return {"id": self.id, "values": dict(self.values), "student": self.student,
                "status": self.status, "error": self.error, "files": list(self.files)}


@dataclass
class CourseRow:
    """One student of a course batch, as the course index shows them."""

    student_id: str
    name: str
    folder: str  # the name of their folders under students/ and instructor/
    states: dict[str, str] = field(default_factory=dict)  # by copy: built, skipped, failed
    errors: list[str] = field(default_factory=list)
    redraws: int = 0
    files: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # by copy: (file, label)
    handout: str | None = None
    answers: dict[str, str] = field(default_factory=dict)  # the key, by exercise
    points: dict[str, str] = field(default_factory=dict)  # after grade
    total: str = ""
    note: str = ""
    submitted: bool = False

    def row(self) -> dict[str, Any]:
        """What the template reads of the student (plain data)."""
        return dict(vars(self))


def marks_figure(totals: Sequence[float], possible: float) -> tuple[str, str, str]:
    """(svg, alt, caption) of how the marked students' totals are spread: a histogram
    with one bar per half point (or per point for larger totals)."""
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    width = 0.5 if possible <= 10 else 1.0
    edges = [float(v) for v in np.arange(-width / 2, possible + width, width)]
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(TEXT_WIDTH_IN * 0.7, 2.6), layout="constrained")
        ax = fig.add_subplot()
        counts, _bins, _patches = ax.hist(totals, bins=edges, color=run_style(0)["color"],
                                          edgecolor="white")
        ax.set_xlabel(f"points (of {possible:g})")
        ax.set_ylabel("students")
        ax.set_xlim(edges[0], edges[-1])
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        svg = svg_text(fig, "batch-marks")
    mean = sum(totals) / len(totals) if totals else 0.0
    common = edges[int(np.argmax(counts))] + width / 2
    alt = (f"Histogram of the points of the {len(totals)} marked student(s), from 0 to "
           f"{possible:g}; mean {mean:.2f}, most common {common:g}.")
    caption = (f"How the marks are spread: {len(totals)} student(s) marked, mean {mean:.2f} of "
               f"{possible:g} points.")
    return svg, alt, caption


def render_course_index(name: str, rows: Sequence[CourseRow], exercises: Sequence[str],
                        graded: bool, possible: float) -> str:
    """A course batch's self-contained index page: every student, and after grading the
    marks and their spread."""
    totals = [float(row.total) for row in rows if row.submitted and _is_number(row.total)]
    figure = None
    if graded and totals:
        svg, alt, caption = marks_figure(totals, possible)
        figure = {"uri": svg_data_uri(svg), "alt": alt, "caption": caption}
    failed = sum(1 for row in rows if "failed" in row.states.values())
    page = environment().get_template(TEMPLATE).render(
        name=name, title=f"Course batch {name}", course=[row.row() for row in rows],
        exercises=list(exercises), graded=graded, possible=possible, figure=figure,
        failed=failed, marked=len(totals), variants=[], keys=[], runs=[], finals=[],
        content_security_policy=Markup(CONTENT_SECURITY_POLICY),
    )
    page = with_content_security_policy(page)
    check_self_contained(page)
    return page


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def varied_keys(summaries: Sequence[Summary]) -> list[str]:
    """The keys whose values set the variants apart, in first-seen order."""
    keys: list[str] = []
    for summary in summaries:
        keys += [key for key in summary.values if key not in keys]
    return keys


def _axis(summaries: Sequence[Summary], keys: Sequence[str]) -> tuple[str, list[float]]:
    """The comparison figure's x axis: the first varied key with plain numbers, else order."""
    for key in keys:
        values = [summary.values.get(key) for summary in summaries]
        numbers = [float(v) for v in values
                   if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(numbers) == len(values) and len(set(values)) > 1:
            return key, numbers
    return "variant", [float(i + 1) for i in range(len(summaries))]


def comparison_figure(summaries: Sequence[Summary]) -> tuple[str, str, str]:
    """(svg, alt, caption) of each run's final loss against the varied parameter."""
    label, xs = _axis(summaries, varied_keys(summaries))
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(TEXT_WIDTH_IN * 0.8, 3.0), layout="constrained")
        ax = fig.add_subplot()
        names = _run_names(summaries)
        for index, name in enumerate(names):
            ys = [_final_loss(summary, index) for summary in summaries]
            style = run_style(index)
            shown = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None and y > 0]
            if shown:
                ax.plot(*zip(*shown, strict=True), linestyle="none", marker=style["marker"],
                        color=style["color"], label=name)
        if ax.has_data():
            ax.set_yscale("log")
            ax.legend(loc="best", fontsize=7.5)
        ax.set_xlabel(label)
        ax.set_ylabel("final loss")
        svg = svg_text(fig, "batch-comparison")
    alt = (f"Scatter chart of the final loss of each run ({', '.join(names) or 'none'}) in "
           f"every one of the {len(summaries)} variants, against {label}, on a logarithmic "
           f"axis.")
    caption = (f"Final loss of every run in each variant against {label} (log scale); "
               f"diverged runs are left out.")
    return svg, alt, caption


def _run_names(summaries: Sequence[Summary]) -> list[str]:
    for summary in summaries:
        if summary.results is not None:
            return [run.name for run in summary.results.runs]
    return []


def _final_loss(summary: Summary, index: int) -> float | None:
    results = summary.results
    if results is None or index >= len(results.runs):
        return None
    run = results.runs[index]
    return None if run.diverged else run.final_loss


def render_index(name: str, title: str, summaries: Sequence[Summary]) -> str:
    """The batch's self-contained index page."""
    svg, alt, caption = comparison_figure(summaries)
    page = environment().get_template(TEMPLATE).render(
        name=name, title=title, variants=[s.row() for s in summaries],
        keys=varied_keys(summaries), course=None,
        runs=_run_names(summaries), finals=[final_runs(s) for s in summaries],
        figure={"uri": svg_data_uri(svg), "alt": alt, "caption": caption},
        failed=sum(1 for s in summaries if s.status == "failed"),
        content_security_policy=Markup(CONTENT_SECURITY_POLICY),
    )
    page = with_content_security_policy(page)  # batch.html declares it; checked here
    check_self_contained(page)
    return page


def final_runs(summary: Summary) -> list[dict[str, Any]]:
    """Each run's final loss, gap to OLS and divergence, for the table."""
    runs = summary.results.runs if summary.results is not None else ()
    return [{"final_loss": run.final_loss, "gap_to_ols": run.gap_to_ols,
             "diverged": run.diverged} for run in runs]


