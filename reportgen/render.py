"""Results -> HTML and PDF: the Jinja environment, the closed URL fetcher, WeasyPrint.

Reads only the plain ``results`` dict and an optional ``manifest`` dict; never JAX. All
templates (shipped or a user's ``--templates DIR``, which overrides shipped ones by name)
are rendered in Jinja's :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` with
autoescape and :class:`~jinja2.StrictUndefined`. The HTML is one self-contained file:
figures and equations are inline ``data:`` SVGs, the CSS is inlined, and a
Content-Security-Policy forbids the browser to fetch anything. The PDF is typeset by
WeasyPrint with a URL fetcher that serves only ``data:`` URIs and files inside the report
folder, so a template cannot read ``file:///etc/passwd`` or reach the network.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import mimetypes
import os
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from reportgen import mathtex
from reportgen.figures import FigureInfo, make_figures, run_style
from reportgen.paths import templates_dir as shipped_templates_dir

__all__ = [
    "PAPER_SIZES",
    "RenderError",
    "make_figures",
    "render_html",
    "render_pdf",
    "write_report",
]

ENTRY_TEMPLATE = "handout.html"
PAPER_SIZES = {"a4": "A4", "letter": "letter"}
OPTIMIZER_NAMES = {"gd": "gradient descent", "momentum": "momentum (heavy ball)",
                   "nesterov": "Nesterov momentum", "adam": "Adam", "rmsprop": "RMSProp"}


class RenderError(ValueError):
    """A handout could not be rendered: a template error or a refused resource."""


# ---------------------------------------------------------------------------------------
# Formatting helpers (Jinja filters)
# ---------------------------------------------------------------------------------------


def fmt_num(value: Any, digits: int = 3) -> str:
    """A number with ``digits`` decimals; scientific when very large or very small."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}".replace(",", "\u2009") if abs(value) >= 10_000 else str(value)
    x = float(value)
    if not math.isfinite(x):
        return "n/a"
    if x != 0 and (abs(x) >= 1e6 or abs(x) < 10.0 ** -digits):
        mantissa, exponent = f"{x:.{digits}e}".split("e")
        return f"{mantissa}\u2009×\u200910^{int(exponent)}"  # noqa: RUF001
    return f"{x:.{digits}f}"


def fmt_pct(value: Any, digits: int = 3) -> str:
    """A fraction as a percentage with ``digits`` decimals, e.g. 0.02652 -> '2.652%'."""
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    return f"{fmt_num(100 * float(value), digits)}%"


def fmt_theta(value: Any, digits: int = 3) -> str:
    """A parameter pair as '(a, b)'."""
    if value is None or any(v is None for v in value):
        return "n/a (overflowed)"
    return f"({fmt_num(value[0], digits)}, {fmt_num(value[1], digits)})"


def fmt_rate(value: Any) -> str:
    """A learning rate as given in the config (shortest exact form)."""
    return "n/a" if value is None else f"{float(value):g}"


# ---------------------------------------------------------------------------------------
# The view of the results that the templates read
# ---------------------------------------------------------------------------------------


def _distance(a: Iterable[Any] | None, b: Iterable[float]) -> float | None:
    if a is None:
        return None
    pa = list(a)
    if any(v is None for v in pa):
        return None
    return math.dist([float(v) for v in pa], list(b))


def _power(base: float, exponent: int) -> float:
    """``base ** exponent``, infinite instead of an OverflowError."""
    try:
        return math.pow(base, exponent)
    except OverflowError:
        return math.inf


def _run_view(index: int, run: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    diag = results["diagnostics"]
    lmin, lmax = (float(v) for v in diag["hessian_eigenvalues"])
    lr = float(run["learning_rate"])
    star = [float(v) for v in results["ols"]["theta"]]
    steps = int(run["steps"])
    slow = abs(1 - lr * lmin)
    fast = abs(1 - lr * lmax)
    losses = run["losses"]
    finite = [v for v in losses if v is not None]
    rises = sum(1 for a, b in itertools.pairwise(losses)
                if a is not None and b is not None and b > a)
    d0 = _distance(run["theta_init"], star)
    d1 = _distance(run["final_theta"], star)
    n = int(results["data"]["n"])
    batch = int(run["batch_size"])
    is_gd = run["optimizer"] == "gd"
    return {
        **run,
        "index": index,
        "number": index + 1,
        "anchor": f"run-{index + 1}",
        "figure": f"fits-{index + 1}",
        "style": run_style(index),
        "optimizer_name": OPTIMIZER_NAMES.get(run["optimizer"], run["optimizer"]),
        "is_gd": is_gd,
        "is_minibatch": batch < n,
        "is_sgd": batch == 1,
        "batches_per_epoch": int(run.get("steps_per_epoch") or math.ceil(n / batch)),
        "last_batch": n - batch * (math.ceil(n / batch) - 1),
        "initial_loss": losses[0] if losses else None,
        "min_loss": min(finite) if finite else None,
        "loss_rises": rises,
        "slow_factor": slow,
        "fast_factor": fast,
        "slow_left": _power(slow, steps),
        "fast_left": _power(fast, steps),
        "above_bound": lr >= float(diag["max_stable_lr"]),
        "fast_steps_to_double": (math.log(2) / math.log(fast)) if fast > 1 else None,
        "init_distance": d0,
        "final_distance": d1,
        "distance_left": (d1 / d0) if d0 and d1 is not None else None,
        "steps_to_1pct": (math.ceil(math.log(0.01) / math.log(slow)) if 0 < slow < 1 else None),
        "converged_loss": run["gap_to_ols"] is not None and run["gap_to_ols"] < 1e-3,
    }


def _provenance(manifest: dict[str, Any] | None, config: dict[str, Any]) -> list[tuple[str, str]]:
    """Small-print provenance rows from the manifest (whatever of it there is)."""
    rows: list[tuple[str, str]] = [("seed", str(config.get("seed"))),
                                   ("precision", str(config.get("precision")))]
    if not manifest:
        return rows
    if manifest.get("config_sha256"):
        rows.append(("config sha256", str(manifest["config_sha256"])))
    env = manifest.get("environment") or {}
    for key, value in sorted(env.items()):
        if key == "packages" and isinstance(value, dict):
            text = ", ".join(f"{k} {v}" for k, v in sorted(value.items()) if v)
        elif isinstance(value, dict | list):
            text = ", ".join(f"{k} {v}" for k, v in sorted(value.items())) if isinstance(
                value, dict) else ", ".join(map(str, value))
        else:
            text = str(value)
        label = key.replace("_", " ")
        if value is not None and text and label not in {k for k, _ in rows}:
            rows.append((label, text[:400]))
    return rows


def _sweep_summary(sweep: dict[str, Any] | None) -> dict[str, Any]:
    summary: dict[str, Any] = {"best_rate": None, "best_loss": None, "first_diverged": None,
                               "diverged": 0}
    if not sweep:
        return summary
    rows = list(zip(sweep["learning_rates"], sweep["final_losses"], sweep["diverged"],
                    strict=False))
    ok = [(loss, rate) for rate, loss, div in rows if loss is not None and not div]
    if ok:
        summary["best_loss"], summary["best_rate"] = min(ok)
    div_rates = sorted(rate for rate, _, div in rows if div)
    summary["diverged"] = len(div_rates)
    summary["first_diverged"] = div_rates[0] if div_rates else None
    return summary


def _equations(names: Iterable[str]) -> dict[str, mathtex.Equation]:
    return {name: mathtex.equation(name) for name in names}


def build_context(results: dict[str, Any], manifest: dict[str, Any] | None,
                  figures: dict[str, FigureInfo]) -> dict[str, Any]:
    """Everything the templates may read: the results as-is plus derived numbers."""
    config = results["config"]
    runs = [_run_view(i, r, results) for i, r in enumerate(results["runs"])]
    optimizers = sorted({r["optimizer"] for r in runs})
    diag = results["diagnostics"]
    lmin, lmax = (float(v) for v in diag["hessian_eigenvalues"])
    bound = float(diag["max_stable_lr"])
    gd_full = [r for r in runs if r["is_gd"] and r["full_batch"]]
    eq_names = ["model", "loss", "gradient", "hessian", "gd", "minibatch", "bound",
                "contraction", *(o for o in optimizers if o != "gd")]
    kappa = float(diag["condition_number"] if diag["condition_number"] is not None else "inf")
    example_rate = round(bound * 1.05, 2 if bound * 1.05 >= 0.1 else 3)
    rate_rows = []
    for rate in sorted({float(r["learning_rate"]) for r in gd_full}):
        slow, fast = abs(1 - rate * lmin), abs(1 - rate * lmax)
        rate_rows.append({"rate": rate, "slow": slow, "fast": fast, "factor": max(slow, fast)})
    finished = [r for r in runs if r["gap_to_ols"] is not None and not r["diverged"]]
    return {
        "results": results,
        "config": config,
        "manifest": manifest,
        "title": config["title"],
        "author": config.get("author") or "",
        "date": config.get("date") or "",
        "paper": config.get("paper", "a4"),
        "data": results["data"],
        "ols": results["ols"],
        "diag": diag,
        "lmin": lmin,
        "lmax": lmax,
        "surface": results["surface"],
        "sweep": results.get("sweep") or None,
        "runs": runs,
        "gd_full_runs": gd_full,
        "unstable_runs": [r for r in runs if r["diverged"] or (r["is_gd"] and r["above_bound"])],
        "rates": sorted({float(r["learning_rate"]) for r in runs}),
        "example_unstable_rate": example_rate,
        "example_unstable_factor": abs(1 - example_rate * lmax),
        "balanced_factor": (kappa - 1) / (kappa + 1),
        "rate_rows": rate_rows,
        "best_run": min(finished, key=lambda r: r["gap_to_ols"]) if finished else None,
        "sweep_summary": _sweep_summary(results.get("sweep")),
        "optimizers": optimizers,
        "figures": figures,
        "eq": _equations(eq_names),
        "provenance": _provenance(manifest, config),
        "manifest_json": _script_json(manifest),
    }


def _script_json(value: Any) -> Markup:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>`` breakout)."""
    text = json.dumps(value, sort_keys=True, indent=1, allow_nan=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return Markup(text)


# ---------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------


def environment(templates_dir: Path | None = None) -> ImmutableSandboxedEnvironment:
    """The sandboxed Jinja environment: user templates first, then the shipped ones."""
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        folder = Path(templates_dir)
        if not folder.is_dir():
            raise RenderError(f"templates folder not found: {folder}")
        loaders.append(jinja2.FileSystemLoader(str(folder)))
    loaders.append(jinja2.FileSystemLoader(str(shipped_templates_dir())))
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(num=fmt_num, pct=fmt_pct, theta=fmt_theta, rate=fmt_rate)
    return env


def render_html(results: dict[str, Any], manifest: dict[str, Any] | None,
                figures: dict[str, FigureInfo], templates_dir: Path | None = None) -> str:
    """The handout as one self-contained HTML document.

    Raises :class:`RenderError` naming the template and line for any template error:
    an undefined variable, a syntax error, or an operation the sandbox forbids.
    """
    env = environment(templates_dir)
    context = build_context(results, manifest, figures)
    try:
        html = env.get_template(ENTRY_TEMPLATE).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"template {exc.filename or exc.name}, line {exc.lineno}: "
                          f"{exc.message}") from exc
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"template not found: {exc.name}") from exc
    except jinja2.exceptions.SecurityError as exc:
        raise RenderError(f"template refused by the sandbox: {exc}") from exc
    except jinja2.UndefinedError as exc:
        raise RenderError(f"template uses an undefined value: {exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise RenderError(f"template error: {exc}") from exc
    check_self_contained(html)
    return html


# What a browser fetches by itself: src/srcset/poster/data attributes, <link href>, CSS
# url() and @import. Plain <a href> links are only followed when the reader clicks.
_FETCHED = (
    re.compile(r"""<(?:img|script|iframe|frame|embed|source|track|audio|video|input|object)\b"""
               r"""[^>]*?\s(?:src|srcset|poster|data)\s*=\s*["']?([^"'\s>]+)""", re.I),
    re.compile(r"""<link\b[^>]*?\shref\s*=\s*["']?([^"'\s>]+)""", re.I),
    re.compile(r"""url\(\s*["']?([^"')\s]+)""", re.I),
    re.compile(r"""@import\s+["']([^"']+)""", re.I),
    re.compile(r"""<image\b[^>]*?\s(?:xlink:)?href\s*=\s*["']?([^"'\s>]+)""", re.I),
)


def check_self_contained(html: str) -> None:
    """Raise :class:`RenderError` naming the first resource the page would fetch.

    The handout must work offline and leak nothing: only ``data:`` URIs and in-page
    ``#fragments`` may be loaded, whatever a user template writes.
    """
    for pattern in _FETCHED:
        for match in pattern.finditer(html):
            url = match.group(1)
            if not url.lower().startswith(("data:", "#")):
                raise RenderError(f"the HTML would fetch {url}: a handout may only embed data: "
                                  f"URIs (nothing is loaded from files or the network)")


# ---------------------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------------------


def _closed_fetcher(root: Path) -> Any:
    """A WeasyPrint URL fetcher for ``data:`` URIs and files under ``root`` only."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    base = root.resolve()

    class ClosedFetcher(URLFetcher):
        refused: list[str]

        def __init__(self) -> None:
            super().__init__(allowed_protocols=("data", "file"), allow_redirects=False,
                             fail_on_errors=True)
            self.refused = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = urllib.parse.urlsplit(url).scheme.lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                parts = urllib.parse.urlsplit(url)
                path = Path(urllib.request.url2pathname(parts.path)).resolve()
                if parts.netloc not in ("", "localhost") or not path.is_relative_to(base):
                    self.refused.append(url)
                    raise RenderError(f"refused to read {url}: outside the report folder {base}")
                if not path.is_file():
                    self.refused.append(url)
                    raise RenderError(f"refused to read {url}: no such file in the report folder")
                mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})
            self.refused.append(url)
            raise RenderError(f"refused to fetch {url}: only data: URIs and files inside the "
                              f"report folder may be used")

    return ClosedFetcher()


def _pdf_metadata_css(paper: str) -> str:
    size = PAPER_SIZES.get(paper.lower())
    if size is None:
        raise RenderError(f"paper must be one of {sorted(PAPER_SIZES)}, got {paper!r}")
    return f"@page {{ size: {size} !important; }}"  # the config's paper beats any template


def pdf_attachments(files: Mapping[str, bytes], date: str) -> list[Any]:
    """WeasyPrint attachments dated by the config (WeasyPrint would use the clock)."""
    import weasyprint

    stamp = dt.datetime.fromisoformat(date).replace(tzinfo=dt.UTC)
    return [
        weasyprint.Attachment(string=data, name=name, created=stamp, modified=stamp,
                              description=f"reportgen {name}", relationship="Source")
        for name, data in sorted(files.items())
    ]


def render_pdf(html: str, base_dir: Path, paper: str = "a4",
               attachments: Mapping[str, bytes] | None = None, date: str = "2026-01-01") -> bytes:
    """Typeset ``html`` into PDF bytes with WeasyPrint, fetching nothing from outside.

    Relative URLs resolve against ``base_dir``; only ``data:`` URIs and files inside it are
    served. Anything else (another scheme, a file elsewhere, a missing file) raises
    :class:`RenderError` naming the resource. Dates in the PDF come from the document's
    ``dcterms.created``/``dcterms.modified`` meta tags (the config date), never the clock.
    """
    import weasyprint
    from weasyprint.urls import FatalURLFetchingError

    fetcher = _closed_fetcher(base_dir)
    page_css = weasyprint.CSS(string=_pdf_metadata_css(paper), url_fetcher=fetcher)
    try:
        document = weasyprint.HTML(string=html, base_url=base_dir.resolve().as_uri() + "/",
                                   url_fetcher=fetcher)
        pdf = document.write_pdf(stylesheets=[page_css],
                                 attachments=pdf_attachments(attachments or {}, date))
    except FatalURLFetchingError as exc:
        cause = exc.__cause__
        if isinstance(cause, RenderError):
            raise RenderError(str(cause)) from exc
        raise RenderError(f"could not load a resource: {exc}: {cause}") from exc
    if fetcher.refused:
        raise RenderError(f"refused to fetch {fetcher.refused[0]}")
    assert isinstance(pdf, bytes)
    return pdf


# ---------------------------------------------------------------------------------------
# The report folder
# ---------------------------------------------------------------------------------------


def write_report(results: dict[str, Any], manifest: dict[str, Any] | None, folder: Path,
                 formats: set[str] | frozenset[str], templates_dir: Path | None = None,
                 progress: Callable[[str], Any] | None = None,
                 attachments: Mapping[str, bytes] | None = None) -> dict[str, float]:
    """Write ``figures/``, ``index.html`` and ``handout.pdf`` (as ``formats`` asks) into ``folder``.

    The caller makes the folder appear atomically; this only writes into it. ``progress``
    is called with each stage's name as it starts. Returns the seconds each stage took.
    """
    unknown = set(formats) - {"html", "pdf"}
    if unknown:
        raise RenderError(f"unknown format(s) {sorted(unknown)}; expected html and/or pdf")
    folder.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    def stage(name: str) -> float:
        if progress is not None:
            progress(name)
        return time.perf_counter()

    start = stage("figures")
    figures = make_figures(results, folder)
    timings["figures"] = time.perf_counter() - start
    start = stage("html")
    html = render_html(results, manifest, figures, templates_dir)
    if "html" in formats:
        _write_bytes(folder / "index.html", html.encode("utf-8"))
    timings["html"] = time.perf_counter() - start
    if "pdf" in formats:
        start = stage("pdf")
        config = results["config"]
        pdf = render_pdf(html, folder, config.get("paper", "a4"), attachments,
                         str(config.get("date", "2026-01-01")))
        _write_bytes(folder / "handout.pdf", pdf)
        timings["pdf"] = time.perf_counter() - start
    return timings


def _write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
