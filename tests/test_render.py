"""HTML: self-contained, escaped, strict, overridable, sandboxed; prose numbers computed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from results_fixture import LEARNING_RATE_RUNS, make_results, optimizer_results

from reportgen.render.errors import RenderError
from reportgen.render.figures import make_figures
from reportgen.render.format import fmt_num, fmt_pct
from reportgen.render.html import render_html
from reportgen.render.report import render_report


@pytest.fixture(scope="module")
def figures() -> dict:
    return make_figures(make_results())


@pytest.fixture(scope="module")
def html(figures: dict) -> str:
    manifest = {"config_sha256": "ab" * 32, "environment": {"python": "3.11.7"}}
    return render_html(make_results(), manifest, figures, None)


def _user_templates(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_nothing_is_fetched_from_outside(html: str) -> None:
    assert not re.search(r"https?:", html)
    scripts = re.findall(r"<script\b[^>]*>", html, flags=re.I)
    assert all('type="application/json"' in tag and "src" not in tag for tag in scripts)
    assert "<link" not in html.lower()
    sources = re.findall(r'\ssrc="([^"]*)"', html)
    assert sources and all(s.startswith("data:") for s in sources)
    assert not re.search(r"url\(", html)
    assert "Content-Security-Policy" in html


def test_every_figure_has_numbered_caption_and_alt(html: str, figures: dict) -> None:
    blocks = re.findall(r"<figure\b.*?</figure>", html, flags=re.S)
    assert len(blocks) == len(figures)
    numbers = []
    for block in blocks:
        assert "<figcaption>" in block
        alt = re.search(r'<img [^>]*alt="([^"]+)"', block)
        assert alt and len(alt.group(1)) > 20
        numbers.append(int(re.search(r"Figure (\d+)\.", block).group(1)))  # type: ignore[union-attr]
    assert numbers == list(range(1, len(blocks) + 1))


def test_equations_are_typeset_svg_with_words(html: str) -> None:
    equations = re.findall(r'<div class="equation"[^>]*><img src="data:image/svg\+xml;base64,'
                           r'[^"]+" alt="([^"]+)"', html)
    assert len(equations) >= 7  # model, loss, gradient, Hessian, GD, mini-batch, bound, ...


def test_prose_numbers_are_computed(html: str) -> None:
    text = re.sub(r"<[^>]+>", "", html)
    for number in ("3.911", "3.204", "4.044", "3.001", "4.222", "2.968", "0.484", "0.449",
                   "1.019", "2.652%", "0.968", "12.834"):
        assert number in text, number
    assert "has not converged" in text


def test_title_and_run_names_are_escaped(figures: dict) -> None:
    results = make_results(title="<script>alert(1)</script>")
    results["runs"][0]["name"] = results["config"]["runs"][0]["name"] = "<b onmouseover=x>GD</b>"
    out = render_html(results, None, figures, None)
    assert "<script>alert(1)" not in out and "<b onmouseover" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&lt;b onmouseover=x&gt;GD&lt;/b&gt;" in out


def test_missing_variable_is_an_error(tmp_path: Path, figures: dict) -> None:
    folder = _user_templates(tmp_path, {"handout.html": "{{ no_such_value }}"})
    with pytest.raises(RenderError, match="no_such_value"):
        render_html(make_results(), None, figures, folder)


def test_user_template_overrides_by_name(tmp_path: Path, figures: dict) -> None:
    folder = _user_templates(tmp_path, {
        "partials/provenance.html": "<footer>made by the course team, seed {{ config.seed }}"
                                    "</footer>"})
    out = render_html(make_results(), None, figures, folder)
    assert "made by the course team, seed 0" in out
    assert "Figure 1." in out  # the rest still comes from the shipped templates


@pytest.mark.parametrize("expression", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ runs.append(1) }}",
    "{{ config.update({'title': 'x'}) }}",
    "{{ cycler.__init__.__globals__ }}",
])
def test_sandbox_refuses_unsafe_operations(tmp_path: Path, figures: dict, expression: str) -> None:
    folder = _user_templates(tmp_path, {"handout.html": expression})
    with pytest.raises(RenderError):
        render_html(make_results(), None, figures, folder)


def test_template_syntax_error_names_file_and_line(tmp_path: Path, figures: dict) -> None:
    folder = _user_templates(tmp_path, {"handout.html": "ok\n{% if %}"})
    with pytest.raises(RenderError, match=r"handout.html.*line 2"):
        render_html(make_results(), None, figures, folder)


def test_missing_templates_folder_is_an_error(tmp_path: Path, figures: dict) -> None:
    with pytest.raises(RenderError, match="not found"):
        render_html(make_results(), None, figures, tmp_path / "nope")


def test_learning_rate_handout_explains_divergence(tmp_path: Path) -> None:
    results = make_results(LEARNING_RATE_RUNS, sweep=True)
    out = render_html(results, None, make_figures(results), None)
    text = re.sub(r"<[^>]+>", "", out)
    assert "above the stability bound" in text
    assert "overflowed" in text and "diverged at step" in text
    assert "A sweep of 25 rates" in text
    assert "fits" in make_figures(results)  # five runs share one grid of small multiples


def test_optimizer_handout_shows_each_update_rule(tmp_path: Path) -> None:
    results = optimizer_results()
    out = render_html(results, None, make_figures(results), None)
    for name in ("momentum", "nesterov", "adam", "adam-step"):
        assert f'id="eq-{name}-run-' in out  # beside its run, unique per occurrence
    for rule in ("def momentum(", "def nesterov(", "def adam("):
        assert rule in out  # the algorithm beside the equation


def test_render_report_html_only() -> None:
    stages: list[str] = []
    files = render_report(make_results(), None, {"html"}, progress=stages.append)
    assert stages == ["figures", "html"]
    assert "index.html" in files and "handout.pdf" not in files
    assert len([name for name in files if name.startswith("figures/")]) == 8


def test_render_report_rejects_unknown_format() -> None:
    with pytest.raises(RenderError, match="docx"):
        render_report(make_results(), None, {"docx"})


@pytest.mark.parametrize(("value", "digits", "expected"), [
    (1.0187607558, 3, "1.019"), (None, 3, "n/a"), (2.5e-7, 3, "2.500\u2009×\u200910⁻⁷"),
    (3, 3, "3"), (float("nan"), 3, "n/a"), (-0.354, 3, "\u22120.354"),
    (-1e-9, 3, "\u22121.000\u2009×\u200910⁻⁹"), (12345.678, 3, "12\u2009345.678"),
    (-0.0001, 3, "\u22121.000\u2009×\u200910⁻⁴"),
])
def test_number_format(value: object, digits: int, expected: str) -> None:
    assert fmt_num(value, digits) == expected


def test_percent_format() -> None:
    assert fmt_pct(0.026522654) == "2.652%"


@pytest.mark.parametrize(("markup", "url"), [
    ('<img src="http://127.0.0.1/x.png" alt="x">', "http://127.0.0.1/x.png"),
    ("<link rel='stylesheet' href='https://example.com/a.css'>", "https://example.com/a.css"),
    ("<style>@font-face { src: url(https://fonts.example/f.woff2) }</style>",
     "https://fonts.example/f.woff2"),
    ('<style>@import "https://example.com/b.css";</style>', "https://example.com/b.css"),
    ('<img src="file:///etc/passwd" alt="x">', "file:///etc/passwd"),
    ('<script src="figures/x.js"></script>', "figures/x.js"),
])
def test_user_template_cannot_make_the_page_fetch(tmp_path: Path, figures: dict, markup: str,
                                                  url: str) -> None:
    folder = _user_templates(tmp_path, {"handout.html": f"<p>hi</p>{markup}"})
    with pytest.raises(RenderError) as caught:
        render_html(make_results(), None, figures, folder)
    assert url in str(caught.value)


def test_links_and_data_uris_are_allowed(tmp_path: Path, figures: dict) -> None:
    folder = _user_templates(tmp_path, {"handout.html": (
        '<a href="https://example.com/course">course page</a><a href="#top">top</a>'
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="x">')})
    assert "course page" in render_html(make_results(), None, figures, folder)
