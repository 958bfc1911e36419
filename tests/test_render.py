"""HTML: self-contained, escaped, strict, overridable, sandboxed; prose numbers computed."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from results_fixture import DEFAULT_RUNS, LEARNING_RATE_RUNS, make_results, optimizer_results

from reportgen.render.errors import RenderError
from reportgen.render.figures import MemoryCache, make_figures
from reportgen.render.format import fmt_num, fmt_pct
from reportgen.render.html import render_html
from reportgen.render.report import render_report
from reportgen.store.results import dumps


@pytest.fixture(scope="module")
def figure_store() -> MemoryCache:
    """The figure cache the default figures are drawn into (once for the module)."""
    return MemoryCache()


@pytest.fixture(scope="module")
def figures(figure_store: MemoryCache) -> dict:
    return make_figures(make_results(), cache=figure_store)


@pytest.fixture(scope="module")
def html(figures: dict) -> str:
    manifest = {"config_sha256": "ab" * 32, "environment": {"python": "3.11.7"}}
    return render_html(make_results(), manifest, figures, None)


def page(body: str) -> str:
    """A whole document around ``body``: the renderer refuses one without <head>."""
    return (f"<!doctype html>\n<html>\n<head>\n<title>t</title>\n</head>\n<body>{body}</body>\n"
            f"</html>\n")


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
    for number in ("3.91", "3.20", "4.04", "3.00", "4.22", "2.97", "0.484", "0.449",
                   "1.02", "2.65%", "0.968", "12.8"):  # three significant figures
        assert number in text, number
    assert "has not converged" in text


def test_title_and_run_names_are_escaped(figures: dict) -> None:
    runs = [{**DEFAULT_RUNS[0], "name": "<b onmouseover=x>GD</b>"}, DEFAULT_RUNS[1]]
    results = make_results(runs, title="<script>alert(1)</script>")
    assert results.runs[0].name == results.config.runs[0].name == "<b onmouseover=x>GD</b>"
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
    drawn = make_figures(results, phone=False)  # as the PDF's page has them
    out = render_html(results, None, drawn, None)
    text = re.sub(r"<[^>]+>", "", out)
    assert "above the stability bound" in text
    assert "its numbers left the range of float64" in text  # it overflowed
    assert "passed 10 times its starting value at step" in text
    assert "A sweep of 25 rates" in text
    assert "fits" in drawn  # five runs share one grid of small multiples


def test_optimizer_handout_shows_each_update_rule(tmp_path: Path) -> None:
    results = optimizer_results()
    out = render_html(results, None, make_figures(results, phone=False), None)
    for name in ("momentum", "nesterov", "adam", "adam-step"):
        assert f'id="eq-{name}-run-' in out  # beside its run, unique per occurrence
    for rule in ("def momentum(", "def nesterov(", "def adam("):
        assert rule in out  # the algorithm beside the equation


def test_render_report_html_only(figures: dict, figure_store: MemoryCache) -> None:
    stages: list[str] = []  # the figures come from the module's cache: drawn once
    files = render_report(make_results(), None, {"html"}, progress=stages.append,
                          figure_cache=figure_store)
    assert stages == ["figures", "html"]
    assert "index.html" in files and "handout.pdf" not in files
    assert len([name for name in files if name.startswith("figures/")]) == 8


def test_render_report_rejects_unknown_format() -> None:
    with pytest.raises(RenderError, match="docx"):
        render_report(make_results(), None, {"docx"})


@pytest.mark.parametrize(("value", "digits", "expected"), [
    (1.0187607558, 3, "1.02"), (None, 3, "n/a"), (2.5e-7, 3, "2.50\u2009×\u200910⁻⁷"),
    (3, 3, "3"), (float("nan"), 3, "n/a"), (-0.354, 3, "\u22120.354"),
    (-1e-9, 3, "\u22121.00\u2009×\u200910⁻⁹"), (12345.678, 3, "12\u2009346"),
    (-0.0001, 3, "\u22121.00\u2009×\u200910⁻⁴"), (1.0187607558, 4, "1.019"),
])
def test_number_format(value: object, digits: int, expected: str) -> None:
    assert fmt_num(value, digits) == expected  # digits: significant figures


def test_percent_format() -> None:
    assert fmt_pct(0.026522654) == "2.65%"


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
    folder = _user_templates(tmp_path, {"handout.html": page(f"<p>hi</p>{markup}")})
    with pytest.raises(RenderError) as caught:
        render_html(make_results(), None, figures, folder)
    assert url in str(caught.value)


def test_links_and_data_uris_are_allowed(tmp_path: Path, figures: dict) -> None:
    folder = _user_templates(tmp_path, {"handout.html": page(
        '<a href="https://example.com/course">course page</a><a href="#top">top</a>'
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="x">')})
    assert "course page" in render_html(make_results(), None, figures, folder)


# ---------------------------------------------------------------- hostile templates (bounded)

HOSTILE = {
    "huge power": "{{ 7**(10**9) }}",
    "huge range": "{{ range(10**9)|list }}",
    "huge range loop": "{% for i in range(10**9) %}{% endfor %}",
    "recursive include": '{% include "handout.html" %}',
    "recursive macro": "{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "recursive loop": "{% for x in [[1]] recursive %}{{ loop([[1]]) }}{% endfor %}",
    "nested loops": "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}"
                    "{% endfor %}",
    "nested loops over text": "{% set s = 'x' * 100000 %}{% for a in s %}{% for b in s %}"
                              "{% endfor %}{% endfor %}",
    "branching macro": "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}"
                       "{% endmacro %}{{ f(40) }}",
    "huge repeat": "{{ 'x' * 10**9 }}",
    "doubling concat": "{% set ns = namespace(s='x') %}{% for i in range(60) %}"
                       "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    "doubling plus": "{% set ns = namespace(s='x') %}{% for i in range(60) %}"
                     "{% set ns.s = ns.s + ns.s %}{% endfor %}",
    "squaring": "{% set ns = namespace(x=3) %}{% for i in range(60) %}"
                "{% set ns.x = ns.x * ns.x %}{% endfor %}",
    "format width": "{{ '%999999999d' % 1 }}",
    "format star": "{{ '%*d' % (10**9, 1) }}",
    "format filter": "{{ '%999999999s'|format('x') }}",
    "str format": "{{ '{:>999999999}'.format(1) }}",
    "str format nested": "{{ '{:{}}'.format('x', 10**9) }}",
    "center": "{{ 'x'|center(10**9) }}",
    "ljust": "{{ 'x'.ljust(10**9) }}",
    "replace": "{{ ('x' * 10**6).replace('x', 'y' * 10**6) }}",
    "replace filter": "{{ ('x' * 10**6)|replace('x', 'y' * 10**6) }}",
    "join": "{{ (['x' * 10**6] * 10**6)|join }}",
    "indent": "{{ ('\\n' * 10**6)|indent(10**6) }}",
    "lipsum": "{{ lipsum(10**9) }}",
    "big output": "{% for i in range(99999) %}{{ 'x' * 1000000 }}{% endfor %}",
    "big output in a macro": "{% macro m() %}{% for i in range(99999) %}{{ 'x' * 1000000 }}"
                             "{% endfor %}{% endmacro %}{{ m()|length }}",
    "big literal loop": "{% for i in range(99999) %}" + "x" * 100_000 + "{% endfor %}",
    "division by zero": "{{ 1 / 0 }}",
}

# Renders each hostile template in a child process (memory-limited), timing it; a bound
# that does not hold then fails the test instead of hanging or exhausting the machine.
CHILD = r"""
import json, os, resource, sys, time
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
from reportgen.render.errors import RenderError
from reportgen.render.html import render_html
from reportgen.store.results import Results
results = Results.loads(Path(sys.argv[1]).read_text())
for folder in sys.argv[2:]:
    started = time.process_time()  # CPU time: bounded work, whatever else the machine runs
    try:
        render_html(results, None, {}, Path(folder))
        outcome = "rendered"
    except RenderError as exc:
        outcome = str(exc)
    except BaseException as exc:
        outcome = f"UNCAUGHT {type(exc).__name__}: {exc}"[:300]
    print(json.dumps([Path(folder).name, outcome, time.process_time() - started]), flush=True)
"""


@pytest.fixture(scope="module")
def hostile_outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, float]]:
    root = tmp_path_factory.mktemp("hostile")
    (root / "results.json").write_text(dumps(make_results()), encoding="utf-8")
    folders = []
    for index, text in enumerate(HOSTILE.values()):
        folders.append(_user_templates(root / str(index), {"handout.html": text}))
    fifo = root / "fifo"
    fifo.mkdir()
    os.mkfifo(fifo / "handout.html")  # a template that would block whoever opens it
    large = _user_templates(root / "large", {"handout.html": page("x" * (2 << 20))})
    done = subprocess.run([sys.executable, "-c", CHILD, str(root / "results.json"),
                           *map(str, folders), str(fifo), str(large)],
                          capture_output=True, text=True, timeout=300)
    outcomes = {name: (outcome, seconds) for name, outcome, seconds in
                map(json.loads, done.stdout.splitlines())}
    names = [*(str(i) for i in range(len(HOSTILE))), "fifo", "large"]
    assert sorted(outcomes) == sorted(names), done.stderr[-2000:]
    return {label: outcomes[str(i)] for i, label in enumerate(HOSTILE)} | {
        "fifo template": outcomes["fifo"], "large template": outcomes["large"]}


@pytest.mark.parametrize("case", [*HOSTILE, "fifo template", "large template"])
def test_hostile_templates_end_quickly_with_one_line(
    case: str, hostile_outcomes: dict[str, tuple[str, float]]
) -> None:
    message, seconds = hostile_outcomes[case]
    assert message.startswith("template handout.html"), message
    assert "\n" not in message and len(message) < 400
    assert seconds < 10, f"{case}: {seconds:.1f} CPU s"


def test_a_legitimate_user_template_is_not_bounded_away(tmp_path: Path, figures: dict) -> None:
    folder = _user_templates(tmp_path, {"handout.html": page(
        "{% for run in runs %}{% for loss in run.losses %}{{ loss|num }} {% endfor %}"
        "{% endfor %}{{ ('%.1f'|format(2.25)) ~ '!' * 3 }}{{ 2 ** 100 }}"
        "{% for name, figure in figures.items() %}{{ figure.data_uri|length > 0 }}{% endfor %}"
        "<i>{{ [1, 2, 3]|map('string')|join(', ') }}</i><b>{{ '-'.join(['a', 'b']|map('upper')) }}"
        "</b><u>{{ runs|map(attribute='name')|join(' & ') }}</u>"
    )})
    out = render_html(make_results(), None, figures, folder)
    assert "2.2!!!" in out and str(2**100) in out and "True" in out
    assert "<i>1, 2, 3</i><b>A-B</b>" in out  # generators are joined, not used up
    assert "<u>Batch gradient descent &amp; Mini-batch gradient descent</u>" in out


# ---------------------------------------------------------------- the Content-Security-Policy


def test_the_shipped_head_starts_with_the_policy(html: str) -> None:
    from reportgen.render.html import CSP_META, with_content_security_policy

    head = html[html.index("<head>"): html.index("</head>")]
    assert head.index(CSP_META) < head.index("<title>")
    assert with_content_security_policy(html) == html  # the shipped bytes are kept


def test_the_policy_goes_first_in_a_user_head(tmp_path: Path, figures: dict) -> None:
    folder = _user_templates(tmp_path, {"handout.html": page(
        "<svg><use href='http://127.0.0.1:9/x.svg#a'/></svg>"
        "<style>p { background: \\75 rl(http://127.0.0.1:9/y) }</style>"
        "<script>fetch('http://127.0.0.1:9/z')</script>")})
    out = render_html(make_results(), None, figures, folder)
    from reportgen.render.html import CSP_META

    assert out.startswith(f"<!doctype html>\n<html>\n<head>\n{CSP_META}\n<title>")


@pytest.mark.parametrize("document", [
    "<p>no head at all</p>",
    "<!-- <head> --><html><head></head><body></body></html>",
    '<!doctype html><html data-x="<head>"><head></head></html>',
    "<!doctype html><html data-x='<head>'><head></head></html>",
    "<!doctype html><script>x</script><head></head>",
])
def test_a_document_without_a_plain_head_is_refused(tmp_path: Path, figures: dict,
                                                    document: str) -> None:
    folder = _user_templates(tmp_path, {"handout.html": document})
    with pytest.raises(RenderError, match="must start with <!doctype html>, <html> and <head>"):
        render_html(make_results(), None, figures, folder)


@pytest.mark.parametrize("markup", [
    '<meta http-equiv="refresh" content="0;url=http://127.0.0.1:9/">',
    "<META HTTP-EQUIV=Refresh CONTENT=0>",
    '<meta http-equiv="&#114;efresh" content="0">',
    "<meta/http-equiv=refresh/content=0>",
    "<svg><meta http-equiv='refresh' content='0'/></svg>",
    '<meta http-equiv="set-cookie" content="a=b">',
])
def test_navigation_the_policy_cannot_stop_is_refused(tmp_path: Path, figures: dict,
                                                      markup: str) -> None:
    folder = _user_templates(tmp_path, {"handout.html": page(markup)})
    with pytest.raises(RenderError, match="http-equiv"):
        render_html(make_results(), None, figures, folder)


def test_a_stricter_policy_of_the_template_is_kept(tmp_path: Path, figures: dict) -> None:
    extra = "<meta http-equiv=\"Content-Security-Policy\" content=\"img-src 'none'\">"
    folder = _user_templates(tmp_path, {"handout.html": page(extra)})
    out = render_html(make_results(), None, figures, folder)
    from reportgen.render.html import CSP_META

    assert CSP_META in out and extra in out


# ---------------------------------------------------------------- control characters


def test_control_characters_never_reach_the_html_raw(figures: dict) -> None:
    """The config refuses them; results from elsewhere are cleaned where they are printed."""
    results = make_results()
    config = results.config  # model_copy does not validate: a config from elsewhere
    spec = config.runs[0].model_copy(update={"name": "run\x00\x01"})
    config = config.model_copy(update={"title": "a\x00b\x1b[31mc\x7f\x85",
                                       "runs": [spec, *config.runs[1:]]})
    run = dataclasses.replace(results.runs[0], name="run\x00\x01")
    results = dataclasses.replace(results, config=config, runs=(run, *results.runs[1:]))
    out = render_html(results, None, figures, None)
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", out)
    assert "a\ufffdb\ufffd[31mc\ufffd\ufffd" in out and "run\ufffd\ufffd" in out


def test_the_template_context_is_exactly_its_typed_definition(figures: dict) -> None:
    """Issue 15: the context reference is generated from HandoutContext and RunView; the
    renderer passes exactly those keys, and a key outside them stops the build."""
    from reportgen.render.context import (
        HandoutContext,
        RunView,
        build_context,
        check_keys,
        documented,
    )
    from reportgen.render.html import render_context

    results = make_results()
    handout = render_context(results, None, figures)
    assert set(handout) == set(documented(HandoutContext))
    base = set(results.to_dict()["runs"][0])
    for run in handout["runs"]:
        assert set(run) - base == set(documented(RunView))
    context = build_context(results, None, figures)
    with pytest.raises(AssertionError, match=r"undocumented \['surprise'\], missing \[\]"):
        check_keys(HandoutContext, {**context, "exercises": [], "surprise": 1}, "context")
    with pytest.raises(AssertionError, match=r"missing \['runs'\]"):
        check_keys(HandoutContext, {k: v for k, v in context.items() if k != "runs"} | {
            "exercises": []}, "context")


class RecordingCache:
    """A figure cache that keeps every entry (its entries are what a store would hold)."""

    def __init__(self, entries: dict[str, str] | None = None) -> None:
        self.entries = dict(entries or {})

    def get(self, key: str) -> str | None:
        return self.entries.get(key)

    def put(self, key: str, text: str) -> None:
        self.entries[key] = text


# Typesets the equations in a child process from each store given on stdin, its equation
# cache emptied before each (as a fresh process's is); with "refuse", typesetting anything
# fails. One child for all the cases: a process each would start Python and matplotlib
# once per case.
TYPESET_CHILD = r"""
import json, sys
from reportgen.render import mathtex
typeset = mathtex.typeset
def refuse(*args, **kwargs):
    raise AssertionError("typeset again although the cache has it")
class Store:
    def __init__(self, entries): self.entries = dict(entries)
    def get(self, key): return self.entries.get(key)
    def put(self, key, text): self.entries[key] = text
done = []
for case in json.load(sys.stdin):
    mathtex._TYPESET.clear()  # nothing typeset yet in this case
    mathtex.typeset = refuse if case["refuse"] else typeset
    store = Store(case["entries"])
    try:
        mathtex.typeset_all(store)
        equations = {name: [e.svg, e.width_pt, e.height_pt]
                     for name, e in ((n, mathtex.equation(n)) for n in mathtex.EQUATIONS)}
        done.append({"equations": equations, "entries": store.entries})
    except AssertionError as exc:
        done.append({"error": str(exc)})
print(json.dumps(done))
"""


def typeset_elsewhere(cases: list[tuple[dict[str, str], bool]]) -> list[dict]:
    """What the child makes of each (store entries, refuse) case, in order."""
    given = [{"entries": entries, "refuse": refuse} for entries, refuse in cases]
    done = subprocess.run([sys.executable, "-c", TYPESET_CHILD], capture_output=True, text=True,
                          input=json.dumps(given), timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


DAMAGED = ["not json", "{}", '{"loss": [1, 2, 3]}', "[]"]


@pytest.fixture(scope="module")
def typeset_cases() -> dict[str, object]:
    """Equations typeset here into a store, and what a child process makes of a copy of
    the store (with typesetting refused: it must read them back) and of each damaged
    entry in its place (typeset again, then stored again whole)."""
    from reportgen.render import mathtex

    store = RecordingCache()
    mathtex.typeset_all(store)
    (key,) = store.entries
    typeset = {name: [e.svg, e.width_pt, e.height_pt]
               for name, e in ((n, mathtex.equation(n)) for n in mathtex.EQUATIONS)}
    done = typeset_elsewhere([(store.entries, True)]
                             + [({key: stored}, False) for stored in DAMAGED]
                             + [({}, True)])  # last: each case starts with nothing typeset
    return {"store": store.entries, "key": key, "typeset": typeset, "kept": done[0],
            "damaged": dict(zip(DAMAGED, done[1:-1], strict=True)), "empty": done[-1]}


def test_typeset_equations_are_kept_in_the_figure_cache(typeset_cases: dict) -> None:
    """Issue 14: a rebuild reads the equations back instead of typesetting them again."""
    store = typeset_cases["store"]
    assert len(store) == 1
    again = typeset_cases["kept"]  # typesets nothing, or fails
    assert again["equations"] == typeset_cases["typeset"] and again["entries"] == store
    # the refusal is real, after cases that typeset: an empty store must typeset, and fails
    assert typeset_cases["empty"] == {"error": "typeset again although the cache has it"}


@pytest.mark.parametrize("stored", DAMAGED)
def test_a_damaged_equation_cache_entry_is_typeset_again(stored: str,
                                                         typeset_cases: dict) -> None:
    key = typeset_cases["key"]
    whole = typeset_cases["store"][key]
    expected = typeset_cases["typeset"]["loss"]
    again = typeset_cases["damaged"][stored]
    assert again["equations"]["loss"] == expected
    assert again["entries"] == {key: whole}  # stored again, whole
