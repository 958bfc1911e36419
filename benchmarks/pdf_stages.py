"""The PDF stage of a handout, part by part, against what WeasyPrint alone needs.

    python benchmarks/pdf_stages.py FOLDER REPEATS

FOLDER is a report folder built with ``--format html`` (``bench.py`` builds it and runs
this in a fresh process). Prints one line, ``PDF-STAGES {json}``, with seconds (wall and
CPU) of:

- ``import``: importing WeasyPrint (a cold build pays it once; its helper process
  overlaps it with JAX);
- ``first``: reportgen's ``render_pdf`` of the folder's HTML, the first in the process
  (what a build pays), and ``ours``: the same again (medians), by part: parsing the
  HTML, each layout (the figure placement lays out again after it moves a figure),
  ``write_pdf`` and the SVG drawing inside it, and the rest, reportgen's own code;
- ``floor``: WeasyPrint alone on these pages: the final HTML as ``render_pdf`` gave it to
  WeasyPrint, parsed, laid out once and written with the same options;
- ``empty``: WeasyPrint on an empty page with the same stylesheets.

The three warm measurements are interleaved, so load on a shared machine drifts alike
on all of them. Timing wrappers are installed on WeasyPrint's classes in this process
only.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

Clock = tuple[float, float]  # (wall, cpu)


def _now() -> Clock:
    return time.perf_counter(), time.process_time()


def _since(start: Clock) -> Clock:
    wall, cpu = _now()
    return wall - start[0], cpu - start[1]


class Recorder:
    """Times every call of the wrapped WeasyPrint methods; keeps the last arguments."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Clock]] = []
        self.last: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            self.last[label] = (args, kwargs)
            start = _now()
            try:
                return original(*args, **kwargs)
            finally:
                self.calls.append((label, _since(start)))

        setattr(owner, name, timed)

    def total(self, label: str) -> Clock:
        found = [clock for name, clock in self.calls if name == label]
        return sum(c[0] for c in found), sum(c[1] for c in found)


def _timed(run: Callable[[], Any]) -> Clock:
    start = _now()
    run()
    return _since(start)


def main(folder: Path, repeats: int) -> dict[str, Any]:
    start = _now()
    import weasyprint
    import weasyprint.document
    import weasyprint.svg

    imported = _since(start)
    from reportgen.render.html import print_stylesheet
    from reportgen.render.pdf import pdf_attachments, render_pdf, with_print_css

    html = (folder / "index.html").read_text(encoding="utf-8")
    config = tomllib.loads((folder / "config.toml").read_text(encoding="utf-8"))
    attachments = {name: (folder / name).read_bytes()
                   for name in ("config.toml", "results.json", "manifest.json")
                   if (folder / name).is_file()}
    print_css = print_stylesheet()
    date = dt.date.fromisoformat(str(config["date"]))

    record = Recorder()
    record.wrap(weasyprint.HTML, "__init__", "parse")
    record.wrap(weasyprint.HTML, "render", "layout")
    record.wrap(weasyprint.document.Document, "write_pdf", "write_pdf")
    record.wrap(weasyprint.svg.SVG, "draw", "svg")

    def ours() -> dict[str, Clock]:
        record.calls.clear()
        total = _timed(lambda: render_pdf(html, config.get("paper", "a4"), date, attachments,
                                          print_css=print_css))
        parts = {"total": total, "parse": record.total("parse"),
                 "write_pdf": record.total("write_pdf"), "svg": record.total("svg")}
        layouts = [clock for name, clock in record.calls if name == "layout"]
        for index, clock in enumerate(layouts, start=1):
            parts[f"layout {index}"] = clock
        spent = [parts["parse"], parts["write_pdf"], *layouts]
        parts["reportgen"] = (total[0] - sum(c[0] for c in spent),
                              total[1] - sum(c[1] for c in spent))
        return parts

    first = ours()
    (_, parse_kwargs) = record.last["parse"]
    (_, render_kwargs) = record.last["layout"]
    (_, write_kwargs) = record.last["write_pdf"]
    render_kwargs = {k: v for k, v in render_kwargs.items() if k != "cache"}

    def weasyprint_alone(text: str) -> Clock:
        def run() -> None:
            document = weasyprint.HTML(**{**parse_kwargs, "string": text}).render(**render_kwargs)
            # attachments are read once: each run gets its own
            document.write_pdf(**{**write_kwargs,
                                  "attachments": pdf_attachments(attachments, date)})
        return _timed(run)

    final = parse_kwargs["string"]
    empty = with_print_css(html.split("<body", 1)[0] + "<body></body></html>", print_css)
    runs: dict[str, list[Any]] = {"ours": [], "floor": [], "empty": []}
    for index in range(repeats):
        steps = [("ours", ours), ("floor", lambda: weasyprint_alone(final)),
                 ("empty", lambda: weasyprint_alone(empty))]
        for name, step in steps if index % 2 == 0 else steps[::-1]:
            runs[name].append(step())
    parts = sorted({key for run in runs["ours"] for key in run})
    return {
        "import": imported,
        "first": first,
        "ours": {key: _median([run[key] for run in runs["ours"] if key in run])
                 for key in parts},
        "floor": _median(runs["floor"]),
        "empty": _median(runs["empty"]),
        "repeats": repeats,
    }


def _median(clocks: list[Clock]) -> Clock:
    return statistics.median(c[0] for c in clocks), statistics.median(c[1] for c in clocks)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    result = main(Path(sys.argv[1]), int(sys.argv[2]))
    print("PDF-STAGES " + json.dumps(result))
