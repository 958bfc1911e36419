"""reportgen.render.pagination: figures float so that pages stay full."""

from __future__ import annotations

import weasyprint

from reportgen.render import pagination

PAGE = "<style>@page { size: A5; margin: 15mm } body { margin: 0; font-size: 10pt }</style>"


def _paragraph(words: int, tag: str = "p") -> str:
    return f"<{tag}>" + " ".join(["word"] * words) + f"</{tag}>"


def _figure(height_mm: int, name: str) -> str:
    return (f'<figure id="{name}" style="margin: 0; break-inside: avoid">'
            f'<div style="height: {height_mm}mm; background: #888"></div></figure>')


def _layout(text: str) -> weasyprint.Document:
    return weasyprint.HTML(string=text).render()


def test_flow_blocks_are_the_children_of_body_and_sections() -> None:
    text = ("<html><body><header><h1>t</h1></header><section><h2>a</h2><p>x <b>y</b></p>"
            "<img src='data:,' alt='z'><figure><img src='data:,' alt='w'></figure></section>"
            "<footer>f</footer></body></html>")
    blocks = pagination.flow_blocks(text)
    assert [b.tag for b in blocks] == ["header", "h2", "p", "img", "figure", "footer"]
    assert all(text[b.start:b.end].startswith(f"<{b.tag}") for b in blocks)
    assert text[blocks[4].start:blocks[4].end].endswith("</figure>")
    marked = pagination.mark(text)
    assert [b.marker for b in pagination.flow_blocks(marked)] == list(range(6))


def test_move_after_keeps_everything_once() -> None:
    text = pagination.mark("<body><section><figure>F</figure><p>one</p><p>two</p></section>"
                           "</body>")
    moved = pagination.move_after(text, [0], 2)
    blocks = pagination.flow_blocks(moved)
    assert [b.tag for b in blocks] == ["p", "p", "figure"]
    assert sorted(moved) == sorted(text + "\n")


def test_a_figure_that_does_not_fit_floats_past_the_text_after_it() -> None:
    text = ("<html><body>" + PAGE + "<section><h2>One</h2>" + _paragraph(250)
            + _figure(110, "big") + _paragraph(200) + _paragraph(200) + "</section></body></html>")
    blocks = pagination.flow_blocks(pagination.mark(text))
    before = _layout(pagination.mark(text))
    assert pagination.page_fills(before, blocks)[0] < 0.7  # the figure left a gap

    document, final = pagination.fill_pages(text, _layout)
    after = pagination.flow_blocks(final)
    assert [b.tag for b in after] == ["h2", "p", "p", "figure", "p"]  # text pulled up
    assert pagination.page_fills(document, after)[0] > 0.9
    assert len(document.pages) <= len(before.pages)


def test_figures_keep_their_order_and_their_section() -> None:
    text = ("<html><body>" + PAGE + "<section><h2>One</h2>" + _paragraph(250)
            + _figure(110, "first") + _figure(40, "second") + "</section><section><h2>Two</h2>"
            + _paragraph(100) + "</section><section><h2>Three</h2>" + _paragraph(400)
            + "</section></body></html>")
    _, final = pagination.fill_pages(text, _layout)
    ids = [b for b in pagination.flow_blocks(final) if b.tag in ("figure", "h2")]
    order = [final[b.start:b.end].split(">", 1)[0] for b in ids]
    assert [o.split()[0] for o in order] == ["<h2", "<figure", "<figure", "<h2", "<h2"] or \
        [o.split()[0] for o in order] == ["<h2", "<h2", "<figure", "<figure", "<h2"]
    assert final.index('id="first"') < final.index('id="second"')
    assert final.index('id="second"') < final.index("Three")  # never past two headings
