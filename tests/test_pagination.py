"""reportgen.render.pagination: figures float so that pages stay full."""

from __future__ import annotations

from collections.abc import Callable

import pytest
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


class _Store:
    """A dict-backed plan store (the figure cache's interface)."""

    def __init__(self) -> None:
        self.kept: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.kept.get(key)

    def put(self, key: str, text: str) -> None:
        self.kept[key] = text


def _counting(layouts: list[str]) -> Callable[[str], weasyprint.Document]:
    def layout(text: str) -> weasyprint.Document:
        layouts.append(text)
        return _layout(text)
    return layout


def test_a_stored_plan_lays_the_same_source_out_once_into_the_same_document() -> None:
    text = ("<html><body>" + PAGE + "<section><h2>One</h2>" + _paragraph(250)
            + _figure(110, "big") + _paragraph(200) + _paragraph(200) + "</section></body></html>")
    store, first, second = _Store(), [], []
    document, final = pagination.fill_pages(text, _counting(first), store, "k")
    assert len(first) >= 2 and list(store.kept) == ["k"]  # it moved the figure, and kept how
    again, final_again = pagination.fill_pages(text, _counting(second), store, "k")
    assert len(second) == 1 and final_again == final
    assert again.write_pdf() == document.write_pdf()


@pytest.mark.parametrize("damaged", ["not json", "[[[99], 0]]", "[[[], 1]]", '{"a": 1}',
                                     "[[[3], 0]]"])
def test_a_damaged_plan_is_ignored_and_replaced(damaged: str) -> None:
    text = ("<html><body>" + PAGE + "<section><h2>One</h2>" + _paragraph(250)
            + _figure(110, "big") + _paragraph(200) + _paragraph(200) + "</section></body></html>")
    _, want = pagination.fill_pages(text, _layout)
    store = _Store()
    store.put("k", damaged)
    _, final = pagination.fill_pages(text, _layout, store, "k")
    assert final == want and store.kept["k"] != damaged
