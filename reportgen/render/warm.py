"""What a rendering process can do before its first handout: the work every handout
repeats, done once and kept for the process's life.

A batch worker calls :func:`renderer` while the calling process computes the numbers,
so the first variant of each worker does not pay for it: the 14 equations typeset
(about 1.2 s of CPU), the shipped templates compiled, DejaVu Sans's advances read for
``svgtext``, and one small PDF typeset, which loads Pango's fonts into the process's
font configuration. Each of these is a cache the renderer fills on first use anyway, so
the bytes of every handout are the same with or without it.
"""

from __future__ import annotations

import datetime as dt

from reportgen.render import html, mathtex, pdf, svgtext

#: A page in the handout's fonts (serif text, sans headings, mono code), for Pango.
_PAGE = ('<html lang="en"><head><title>warm</title></head><body><h1>Warm</h1>'
         "<p>Text, <b>bold</b>, <i>italic</i>, <code>code</code> 0.123</p></body></html>")


def renderer() -> None:
    """Fill the process's renderer caches (equations, templates, fonts)."""
    mathtex.typeset_all()
    html.environment().get_template(html.ENTRY_TEMPLATE)
    svgtext.text_advances()
    pdf.render_pdf(_PAGE, "a4", dt.date(2000, 1, 1), print_css=html.print_stylesheet())
