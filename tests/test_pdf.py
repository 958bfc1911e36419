"""PDF: valid, the computed numbers in its text, 3-12 pages, fonts embedded, outline and
table of contents; the URL fetcher serves only data: URIs."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from results_fixture import BUILD_WARNINGS, built_handout

from reportgen.render.errors import RenderError
from reportgen.render.pdf import render_pdf

DATE = dt.date(2026, 1, 1)

POPPLER = shutil.which("pdftotext") and shutil.which("pdfinfo") and shutil.which("pdffonts")
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext, pdfinfo, "
                                   "pdffonts) not installed; .ci/run installs it")
needs_qpdf = pytest.mark.skipif(not shutil.which("qpdf"),
                                reason="qpdf not installed; .ci/run installs it")


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=60).stdout


@pytest.fixture(scope="module")
def pdf() -> Path:
    return built_handout() / "handout.pdf"


@pytest.fixture(scope="module")
def info(pdf: Path) -> dict[str, str]:
    if not POPPLER:
        pytest.skip("poppler-utils not installed; .ci/run installs it")
    return dict(re.findall(r"^([^:]+):\s*(.*)$", _run("pdfinfo", str(pdf)), flags=re.M))


@pytest.fixture(scope="module")
def text(pdf: Path) -> str:
    if not POPPLER:
        pytest.skip("poppler-utils not installed; .ci/run installs it")
    return _run("pdftotext", "-layout", str(pdf), "-")


def test_weasyprint_has_no_warnings(pdf: Path) -> None:
    assert pdf.is_file()
    assert BUILD_WARNINGS == []


@needs_qpdf
def test_qpdf_check_passes(pdf: Path) -> None:
    result = subprocess.run(["qpdf", "--check", str(pdf)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors" in result.stdout


@needs_poppler
def test_page_count_size_and_dates(info: dict[str, str]) -> None:
    assert 3 <= int(info["Pages"]) <= 12
    assert "(A4)" in info["Page size"]
    assert info["Title"] == "Gradient descent for linear regression"
    assert "2026" in info["CreationDate"] and "Jan  1" in info["CreationDate"]


@needs_poppler
def test_text_shows_the_computed_numbers(text: str) -> None:
    # The notebook's numbers to three significant figures, the prose and tables' policy.
    for number in ("3.91", "3.20",     # batch GD final theta (3.9107, 3.2041)
                   "4.04", "3.00",     # mini-batch final theta (4.0437, 3.0013)
                   "4.22", "2.97",     # OLS (4.2222, 2.9683)
                   "0.484"):           # 2/lambda_max
        assert number in text, number
    assert re.search(r"page 1 of \d+", text)


@needs_poppler
def test_table_of_contents_has_page_numbers(text: str) -> None:
    first_page = text.split("\f")[0]
    entries = re.findall(r"^\s*\d+\. (?:The problem|Summary)[ .]+(\d+)\s*$", first_page, flags=re.M)
    assert len(entries) == 2 and int(entries[0]) <= int(entries[1])


@needs_poppler
def test_fonts_are_embedded(pdf: Path) -> None:
    rows = _run("pdffonts", str(pdf)).splitlines()[2:]
    assert rows
    for row in rows:
        assert re.search(r"\byes\s+(?:yes|no)\s+(?:yes|no)\s+\d+\s+\d+\s*$", row), row


@needs_qpdf
def test_bookmarks_come_from_headings(pdf: Path) -> None:
    outline = _run("qpdf", "--json", "--json-key=outlines", str(pdf))
    for title in ("1. The problem", "2. Loss, gradient and the closed form",
                  "4. Batch gradient descent", "9. Summary", "References"):
        assert title in outline, title


@needs_poppler
def test_letter_paper_overrides_the_stylesheet(tmp_path: Path) -> None:
    css = (Path(__file__).resolve().parent.parent / "templates" / "handout.css").read_text()
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(render_pdf(f"<style>{css}</style><h1>t</h1><p>x</p>", "letter", DATE))
    assert "612 x 792 pts (letter)" in _run("pdfinfo", str(pdf))


def test_unknown_paper_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="paper"):
        render_pdf("<p>x</p>", "a3", DATE)


def test_same_pdf_bytes_twice(tmp_path: Path) -> None:
    html = (built_handout() / "index.html").read_text(encoding="utf-8")
    html = html.split("<section id=\"loss\">")[0] + "</body></html>"  # keep it quick
    assert render_pdf(html, "a4", DATE) == render_pdf(html, "a4", DATE)


# --- the closed URL fetcher ------------------------------------------------------------

HOSTILE = [
    ('<img src="file:///etc/passwd">', "file:///etc/passwd"),
    ('<img src="http://127.0.0.1/x.png">', "http://127.0.0.1/x.png"),
    ('<link rel="stylesheet" href="http://127.0.0.1/style.css">', "http://127.0.0.1/style.css"),
    ('<style>@import url("https://example.com/a.css");</style>', "https://example.com/a.css"),
    ('<style>@font-face { font-family: X; src: url(http://127.0.0.1/f.woff2); }'
     ' p { font-family: X; }</style>', "http://127.0.0.1/f.woff2"),
    ('<img src="ftp://127.0.0.1/x.png">', "ftp://127.0.0.1/x.png"),
    ('<img src="../outside.png">', "outside.png"),
    ('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
     '<image href="file:///etc/hostname" width="10" height="10"/></svg>', "file:///etc/hostname"),
]


@pytest.mark.parametrize(("markup", "url"), HOSTILE)
def test_fetcher_refuses_and_names_the_resource(tmp_path: Path, markup: str, url: str) -> None:
    folder = tmp_path / "report"
    folder.mkdir()
    (tmp_path / "outside.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(RenderError) as caught:
        render_pdf(f"<p>text</p>{markup}", "a4", DATE)
    assert url in str(caught.value)


def test_fetcher_refuses_files_even_inside_a_folder(tmp_path: Path) -> None:
    (tmp_path / "style.css").write_text("p { color: red }")
    with pytest.raises(RenderError, match=r"style\.css"):
        render_pdf('<link rel="stylesheet" href="style.css"><p>x</p>', "a4", DATE)


def test_fetcher_serves_data_uris() -> None:
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20">'
           '<rect width="20" height="20"/></svg>')
    pdf = render_pdf('<p>x</p><img src="data:image/svg+xml;utf8,' + svg.replace('"', "'") + '">',
                     "a4", DATE)
    assert pdf.startswith(b"%PDF")


# --- tagged and standard PDFs ------------------------------------------------------------

SMALL = ('<html lang="en"><head><title>T</title></head><body><h1>T</h1><p>x</p>'
         '<img alt="a black square" src="data:image/svg+xml;utf8,'
         "<svg xmlns='http://www.w3.org/2000/svg' width='20' height='20'><rect width='20' "
         "height='20'/></svg>\"></body></html>")


@needs_poppler
@pytest.mark.parametrize(("standard", "claim"), [
    ("pdf/ua-1", 'pdfuaid:part="1"'),
    ("pdf/a-3b", 'pdfaid:part="3" pdfaid:conformance="B"'),
    ("pdf/a-3a", 'pdfaid:part="3" pdfaid:conformance="A"'),
])
def test_standard_pdfs_are_tagged_and_keep_their_attachments(tmp_path: Path, standard: str,
                                                              claim: str) -> None:
    pdf = tmp_path / "x.pdf"
    pdf.write_bytes(render_pdf(SMALL, "a4", DATE, {"results.json": b"{}"}, standard=standard))
    assert "Tagged:          yes" in _run("pdfinfo", str(pdf))
    assert claim in _run("pdfinfo", "-meta", str(pdf))
    assert "1 embedded files" in _run("pdfdetach", "-list", str(pdf))


def test_print_css_joins_the_page_styles_for_weasyprint_only() -> None:
    from reportgen.render.pdf import with_print_css

    html = "<html><head><title>t</title></head><body><p>x</p></body></html>"
    printed = with_print_css(html, "@page { margin: 1cm }")
    assert printed.index("@page") < printed.index("</head>")
    assert with_print_css(html, "") == html
    handout = (built_handout() / "index.html").read_text(encoding="utf-8")
    assert "@page" not in handout and "string-set" not in handout  # the HTML stays plain CSS


# --- what WeasyPrint reads: short image names, one font configuration ---------------------


def test_embedded_images_reach_weasyprint_by_short_names() -> None:
    from reportgen.render.pdf import SHORT_IMAGE, shorten_images

    image = "data:image/svg+xml;base64,PHN2Zy8+"
    html = (f'<p>src="{image}"</p><!-- <img src="{image}"> -->'
            f'<picture><source srcset="{image}"><img alt="a" src="{image}"></picture>'
            f'<img alt="b" src="data:image/svg+xml;utf8,&lt;svg/&gt;">')
    short, images = shorten_images(html)
    assert short.count(image) == 2  # text and comments are not tags: left as they are
    assert short.count(SHORT_IMAGE) == 2 and set(images.values()) == {image}
    assert "&lt;svg/&gt;" in short  # a value with a character reference is kept
    assert len(render_pdf(html, "a4", DATE)) > 0


def _font_face_page(family: str) -> str:
    import base64

    import matplotlib

    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "cmr10.ttf"
    uri = "data:font/ttf;base64," + base64.b64encode(font.read_bytes()).decode()
    return (f'<style>@font-face {{ font-family: {family}; src: url("{uri}") }}'
            f"p {{ font-family: {family} }}</style><p>Probe text</p>")


def test_a_document_with_its_own_font_leaves_the_next_one_as_it_was() -> None:
    plain = "<style>p { font-family: Probe, sans-serif }</style><p>Probe text</p>"
    before = render_pdf(plain, "a4", DATE)
    with_font = render_pdf(_font_face_page("Probe"), "a4", DATE)
    assert with_font != before  # the document's own font was used
    assert render_pdf(plain, "a4", DATE) == before  # and is gone for the next document
