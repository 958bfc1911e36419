"""HTML -> PDF with WeasyPrint, fetching nothing from outside.

The URL fetcher serves only ``data:`` URIs, so a template cannot read
``file:///etc/passwd`` or reach the network. Dates in the PDF come
from the config, never the clock.

The PDF is tagged (a structure tree with the figures' and equations' alt text, the
document's language and title) and claims PDF/UA-1, or PDF/A-3 where the config asks
for an archival file; figures float (``pagination``) so that pages stay full.

What WeasyPrint reads is lighter than the HTML file (the bytes of the PDF are the same
whatever a process typeset before): each embedded image's ``data:`` URI is replaced by a
short name that the fetcher resolves (WeasyPrint's HTML parser is pure Python, and the
figures are most of the file's 1.3 MB), and one font configuration serves every PDF a
process typesets until a document adds a font of its own to it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import html.parser
import os
import re
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any

from reportgen.render import pagination, printsvg
from reportgen.render.errors import RenderError

PAPER_SIZES = {"a4": "A4", "letter": "letter"}
#: WeasyPrint's pdf_variant for a handout unless the config names another (``[pdf]``).
DEFAULT_STANDARD = "pdf/ua-1"


#: Relative URLs in a handout resolve against this base (and are then refused).
BASE_URL = "file:///report/"


#: The short names ``shorten_images`` gives embedded images: data: URIs themselves, so
#: that nothing else changes in what WeasyPrint reads.
SHORT_IMAGE = "data:,reportgen-image-"
#: Elements whose ``src``/``srcset`` may hold an embedded image.
_IMAGE_TAGS = frozenset({"img", "source", "input"})
_URI_ATTRIBUTE = re.compile(r'(\ssrc(?:set)?\s*=\s*)"(data:[^"&]*)"', re.IGNORECASE)


class _ImageTags(html.parser.HTMLParser):
    """Where the start tags that may embed an image are, found as a browser finds them
    (never inside a comment, a script or a text)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.lines = [0, *(match.end() for match in re.finditer("\n", text))]
        self.spans: list[tuple[int, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _IMAGE_TAGS:
            line, column = self.getpos()
            start = self.lines[line - 1] + column
            self.spans.append((start, start + len(self.get_starttag_text() or "")))

    handle_startendtag = handle_starttag


def shorten_images(text: str) -> tuple[str, dict[str, str]]:
    """``text`` with each double-quoted ``data:`` URI in an image's ``src`` or ``srcset``
    replaced by a short name, and what each name stands for (for ``_closed_fetcher``).

    A value with a character reference in it is left as it is (the parser would decode
    it); the names are digests of the URIs, so the same image has one name.
    """
    finder = _ImageTags(text)
    finder.feed(text)
    finder.close()
    images: dict[str, str] = {}

    def short(match: re.Match[str]) -> str:
        name = SHORT_IMAGE + hashlib.sha256(match[2].encode()).hexdigest()[:32]
        images[name] = match[2]
        return f'{match[1]}"{name}"'

    parts, last = [], 0
    for start, end in finder.spans:
        parts += [text[last:start], _URI_ATTRIBUTE.sub(short, text[start:end])]
        last = end
    parts.append(text[last:])
    return "".join(parts), images


def _closed_fetcher(images: Mapping[str, str] | None = None) -> Any:
    """A WeasyPrint URL fetcher that serves ``data:`` URIs and nothing else (``images``:
    the URIs that short names stand for), SVGs lightened for drawing (``printsvg``)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class ClosedFetcher(URLFetcher):
        refused: list[str]

        def __init__(self) -> None:
            super().__init__(allowed_protocols=("data",), allow_redirects=False,
                             fail_on_errors=True)
            self.refused = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            url = (images or {}).get(url, url)
            if urllib.parse.urlsplit(url).scheme.lower() == "data":
                response = super().fetch(url, headers)
                if response.content_type != "image/svg+xml":
                    return response
                body = response.read()
                with contextlib.suppress(UnicodeDecodeError):
                    body = printsvg.lighten(body.decode("utf-8")).encode("utf-8")
                return URLFetcherResponse(url, body, {"Content-Type": "image/svg+xml"})
            self.refused.append(url)
            raise RenderError(f"refused to fetch {url}: a handout may only embed data: URIs "
                              f"(nothing is loaded from files or the network)")

    return ClosedFetcher()


@functools.cache
def _font_configuration_class() -> Any:
    from weasyprint.text.fonts import FontConfiguration

    class Fonts(FontConfiguration):
        """A font configuration that remembers whether a document added a font to it."""

        added = False

        def add_font_face(self, rule_descriptors: Any, url_fetcher: Any) -> Any:
            self.added = True
            return super().add_font_face(rule_descriptors, url_fetcher)

    return Fonts


_FONTS: list[Any] = []


def font_configuration() -> Any:
    """The process's WeasyPrint font configuration: made once (Pango's font map and its
    caches stay warm from one PDF to the next), made again after a document added an
    ``@font-face`` font to it, so that no document sees another's fonts."""
    if not _FONTS or _FONTS[0].added:
        _FONTS[:] = [_font_configuration_class()()]
    return _FONTS[0]


@contextlib.contextmanager
def source_date_epoch(epoch: int) -> Iterator[None]:
    """``SOURCE_DATE_EPOCH`` for the block only (fontTools' font subsets read it)."""
    saved = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved


def _pdf_metadata_css(paper: str) -> str:
    size = PAPER_SIZES.get(paper.lower())
    if size is None:
        raise RenderError(f"paper must be one of {sorted(PAPER_SIZES)}, got {paper!r}")
    return f"@page {{ size: {size} !important; }}"  # the config's paper beats any template


def pdf_attachments(files: Mapping[str, bytes], date: dt.date) -> list[Any]:
    """WeasyPrint attachments dated by the config (WeasyPrint would use the clock)."""
    import weasyprint

    stamp = dt.datetime.combine(date, dt.time(0, 0), tzinfo=dt.UTC)
    return [
        weasyprint.Attachment(string=data, name=name, created=stamp, modified=stamp,
                              description=f"reportgen {name}", relationship="Source")
        for name, data in sorted(files.items())
    ]


def with_print_css(html: str, css: str) -> str:
    """The document with ``css`` as its last author stylesheet, for WeasyPrint's eyes only.

    WeasyPrint's ``stylesheets`` argument adds *user* stylesheets, which lose to the
    page's own rules; the print rules must win over them, so they join the page's styles.
    """
    if not css:
        return html
    style = f"<style>\n{css}\n</style>\n"
    match = re.search(r"</head\s*>", html, flags=re.IGNORECASE)
    if match is None:
        return style + html
    return html[:match.start()] + style + html[match.start():]


def _layout_key(html: str, paper: str, forms: bool, standard: str) -> str:
    """sha256 of what the layout depends on: the source (images included: their short
    names are digests), the options, this code, WeasyPrint and Pango."""
    import weasyprint

    from reportgen import codebase as sources

    try:
        from weasyprint.text.ffi import pango

        pango_version = int(pango.pango_version())
    except (ImportError, AttributeError):  # pragma: no cover - an older WeasyPrint
        pango_version = 0
    head = repr(("layout-plan", sources.code_digest(__name__), weasyprint.__version__,
                 pango_version, paper, forms, standard))
    return hashlib.sha256(head.encode() + b"\0" + html.encode()).hexdigest()


def render_pdf(html: str, paper: str, date: dt.date,
               attachments: Mapping[str, bytes] | None = None, *,
               print_css: str = "", standard: str = DEFAULT_STANDARD,
               forms: bool = False, plan_store: pagination.PlanStore | None = None) -> bytes:
    """Typeset ``html`` into a tagged PDF with WeasyPrint, fetching nothing from outside.

    Args:
      html: the handout, with every resource embedded as a ``data:`` URI.
      paper: ``a4`` or ``letter``; beats any ``@page size`` in the templates.
      date: the build date: attachments and font subsets are stamped with it, never
        with the clock.
      attachments: files to attach to the PDF, by name.
      print_css: the print stylesheet (pages, running heads), which the HTML does not load.
      standard: WeasyPrint's ``pdf_variant``: ``pdf/ua-1`` (accessible) or a PDF/A-3 level.
      forms: turn each ``<input name="X">`` into a fillable PDF field named X.
      plan_store: where the figure moves found for this source are kept (the figure cache),
        so that a rebuild lays the handout out once (``pagination.fill_pages``).

    Raises:
      RenderError: naming the first resource the document tried to fetch.
    """
    import weasyprint
    from weasyprint.urls import FatalURLFetchingError

    html, embedded = shorten_images(with_print_css(html, print_css))
    fetcher = _closed_fetcher(embedded)
    fonts = font_configuration()
    stylesheets = [weasyprint.CSS(string=_pdf_metadata_css(paper), url_fetcher=fetcher,
                                  font_config=fonts)]
    images: dict[str, Any] = {}  # parsed once, shared by every layout

    def layout(text: str) -> Any:
        document = weasyprint.HTML(string=text, base_url=BASE_URL, url_fetcher=fetcher)
        # pdf_forms is a layout option too: inputs become form widgets while laid out.
        return document.render(stylesheets=stylesheets, cache=images, pdf_forms=forms,
                               font_config=fonts)

    try:
        with source_date_epoch(_epoch(date)):
            # figures that would leave a page under-filled float down (``pagination``)
            document, _ = pagination.fill_pages(
                html, layout, plan_store, _layout_key(html, paper, forms, standard))
            pdf = document.write_pdf(attachments=pdf_attachments(attachments or {}, date),
                                     pdf_tags=True, pdf_variant=standard, pdf_forms=forms)
    except FatalURLFetchingError as exc:
        cause = exc.__cause__
        if isinstance(cause, RenderError):
            raise RenderError(str(cause)) from exc
        raise RenderError(f"could not load a resource: {exc}: {cause}") from exc
    if fetcher.refused:
        raise RenderError(f"refused to fetch {fetcher.refused[0]}")
    assert isinstance(pdf, bytes)
    return pdf


def _epoch(date: dt.date) -> int:
    """Midnight UTC of ``date`` in seconds since the epoch."""
    return int(dt.datetime.combine(date, dt.time(0, 0), tzinfo=dt.UTC).timestamp())
