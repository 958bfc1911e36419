"""The preview server of ``reportgen watch --serve``: the last good report, on loopback only.

It serves exactly the report's own files, from memory (what the last good build wrote:
no directory listing, no other file, no symbolic link followed), to a browser on this
machine, and is built to stay up whatever a local page or process sends it:

- **Host check.** A request must name the server as ``127.0.0.1:PORT`` or
  ``localhost:PORT`` in its Host header; any other is refused (403), so a page on another
  domain that rebinds its name to 127.0.0.1 (DNS rebinding) reads nothing.
- **Bounded connections.** One asyncio loop in one thread: a connection costs a
  coroutine, not a thread. Each must send its request head within ``HEAD_TIMEOUT_S`` (at
  most ``MAX_HEAD_BYTES``) and take its response within ``WRITE_TIMEOUT_S``; at most
  ``MAX_CONNECTIONS`` are held, and a new one beyond that closes the oldest that is still
  sending its head. One request per connection. Nothing is ever printed.
- **Only the reload script runs.** The served page (the written one, with its policy
  widened) may run one inline script, allowed by its exact sha256 in the
  Content-Security-Policy (meta and header): a ``<script>`` a template wrote does not run.
  Every other file is served under the handout's own policy (nothing runs), with
  ``nosniff``.
- **Errors in the page.** After a failed rebuild the page shows its one-line error above
  the last good report; the next good build clears it. The page polls
  ``RELOAD_PATH`` and reloads whenever the rebuild count changes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import html
import mimetypes
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from reportgen.errors import ParameterError
from reportgen.layout import HTML_FILE
from reportgen.render.html import CONTENT_SECURITY_POLICY, CSP_META

HOST = "127.0.0.1"
#: Names a browser may use for the server in its Host header (with the port).
HOST_NAMES = (HOST, "localhost")
RELOAD_PATH = "/__reportgen__/version"
#: What the served page polls, every half second, to reload after a rebuild.
RELOAD_JS = (
    "(function(){var v=null;setInterval(function(){fetch('" + RELOAD_PATH + "')"
    ".then(function(r){return r.text()}).then(function(t){if(v===null){v=t}"
    "else if(t!==v){location.reload()}}).catch(function(){})},500)})();"
)
RELOAD_SCRIPT = f"<script>{RELOAD_JS}</script>"
#: The reload script's hash: the one script the served page may run.
RELOAD_HASH = "sha256-" + base64.b64encode(hashlib.sha256(RELOAD_JS.encode()).digest()).decode()
#: The served page's policy: the handout's, plus the reload script and its polling.
SERVED_CSP = f"{CONTENT_SECURITY_POLICY}; script-src '{RELOAD_HASH}'; connect-src 'self'"
#: Seconds a connection has to send its request head.
HEAD_TIMEOUT_S = 5.0
#: Seconds a connection has to take its response.
WRITE_TIMEOUT_S = 30.0
#: Connections held at once; beyond it, the oldest still sending its head is closed.
MAX_CONNECTIONS = 128
#: The longest request head (request line and headers) read.
MAX_HEAD_BYTES = 16 * 1024
_BODY_TAG = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


@dataclass(frozen=True)
class Site:
    """What is served: the last good report's files (by relative POSIX path), the number
    of rebuilds so far, and the last rebuild's one-line error (None after a good one)."""

    files: Mapping[str, bytes]
    version: int
    error: str | None


@dataclass(frozen=True)
class Response:
    """A status, its headers and a body."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


def served_page(site: Site) -> str:
    """The page at ``/``: the written index.html with its policy widened for the reload
    script, which is added, and the last rebuild's error (if any) above the report."""
    if HTML_FILE in site.files:
        page = site.files[HTML_FILE].decode("utf-8", errors="replace")
        page = page.replace(CSP_META, CSP_META.replace(CONTENT_SECURITY_POLICY, SERVED_CSP), 1)
    else:  # no report yet, or one without HTML
        links = "".join(f'<li><a href="{html.escape(name)}">{html.escape(name)}</a></li>'
                        for name in sorted(site.files))
        what = f"<ul>{links}</ul>" if links else "<p>Waiting for the first build.</p>"
        page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
                f'{CSP_META.replace(CONTENT_SECURITY_POLICY, SERVED_CSP)}'
                f"<title>reportgen watch</title></head><body>{what}</body></html>")
    if site.error is not None:
        banner = ('<div role="alert" data-reportgen-error style="position:sticky;top:0;'
                  "z-index:9999;margin:0;padding:.6em 1em;background:#fde8e8;color:#7a0b0b;"
                  'border-bottom:2px solid #c81e1e;font:14px/1.4 sans-serif">'
                  f"reportgen: {html.escape(site.error)} (showing the last good report)</div>")
        found = _BODY_TAG.search(page)
        at = found.end() if found else 0
        page = page[:at] + banner + page[at:]
    head, closing, tail = page.rpartition("</body>")
    return f"{head}{RELOAD_SCRIPT}{closing}{tail}" if closing else page + RELOAD_SCRIPT


def _content_type(name: str) -> str:
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/json", "image/svg+xml"):
        kind += "; charset=utf-8"
    return kind


def _response(status: int, reason: str, body: bytes, kind: str,
              policy: str = CONTENT_SECURITY_POLICY) -> Response:
    return Response(status, reason, (
        ("Content-Type", kind),
        ("Content-Length", str(len(body))),
        ("Content-Security-Policy", policy),
        ("X-Content-Type-Options", "nosniff"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
        ("Connection", "close"),
    ), body)


def _refusal(status: int, reason: str, text: str) -> Response:
    return _response(status, reason, (text + "\n").encode(), "text/plain; charset=utf-8")


def respond(site: Site, method: str, target: str, host: str | None, port: int) -> Response:
    """The response to one request (a pure function of the site and the request)."""
    if host is None or host.lower() not in {f"{name}:{port}" for name in HOST_NAMES}:
        return _refusal(403, "Forbidden", f"reportgen serves only http://{HOST}:{port}/")
    if method not in ("GET", "HEAD"):
        return _refusal(405, "Method Not Allowed", "only GET and HEAD")
    path = unquote(urlsplit(target).path)
    if path in ("/", "/index.html"):
        page = served_page(site).encode("utf-8")
        return _response(200, "OK", page, "text/html; charset=utf-8", SERVED_CSP)
    if path == RELOAD_PATH:
        return _response(200, "OK", str(site.version).encode(), "text/plain; charset=utf-8")
    data = site.files.get(path[1:]) if path.startswith("/") else None
    if data is None:  # not one of the report's files (a folder, a listing, anything else)
        return _refusal(404, "Not Found", "not a file of this report")
    return _response(200, "OK", data, _content_type(path))


class _Connections:
    """The connections held, oldest first, and whether each still sends its head."""

    def __init__(self) -> None:
        self.reading: dict[asyncio.StreamWriter, bool] = {}

    def admit(self, writer: asyncio.StreamWriter) -> bool:
        """Hold ``writer``; at the cap, close the oldest still reading (False: none was,
        and ``writer`` must be closed instead)."""
        if len(self.reading) >= MAX_CONNECTIONS:
            oldest = next((w for w, reading in self.reading.items() if reading), None)
            if oldest is None:
                return False
            self.reading.pop(oldest)
            oldest.transport.abort()
        self.reading[writer] = True
        return True


async def _handle(site: Callable[[], Site], port: int, held: _Connections,
                  reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    if not held.admit(writer):
        writer.transport.abort()
        return
    try:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
        except asyncio.LimitOverrunError:
            head = b""
            response = _refusal(431, "Request Header Fields Too Large", "request head too large")
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            return
        else:
            response = (_parse_and_respond(site(), port, head)
                        or _refusal(400, "Bad Request", "not an HTTP/1 request"))
        held.reading[writer] = False
        lines = [f"HTTP/1.1 {response.status} {response.reason}",
                 *(f"{name}: {value}" for name, value in response.headers)]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if not head.startswith(b"HEAD "):
            writer.write(response.body)
        await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT_S)
    except Exception:  # a client that went away, or took too long: nothing to report
        pass
    finally:
        held.reading.pop(writer, None)
        writer.close()


def _parse_and_respond(site: Site, port: int, head: bytes) -> Response | None:
    try:
        text = head.decode("latin-1")
        request_line, *header_lines = text.split("\r\n")
        method, target, version = request_line.split(" ")
    except ValueError:
        return None
    if not version.startswith("HTTP/1."):
        return None
    hosts = [line.split(":", 1)[1].strip() for line in header_lines
             if line.lower().startswith("host:")]
    host = hosts[0] if len(hosts) == 1 else None  # none, or two: refused
    return respond(site, method, target, host, port)


def check_port(port: int) -> int:
    """A port to serve on: 0 (pick a free one) to 65535.

    Raises:
      ParameterError: naming ``port``.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ParameterError("port", f"expected a port number from 0 to 65535 (0 picks a "
                             f"free one), got {port!r}")
    return port


@contextlib.contextmanager
def serving(site: Callable[[], Site], port: int = 0) -> Iterator[str]:
    """Serve ``site()`` (asked at each request) on 127.0.0.1 from a background thread;
    yields the page's URL.

    Raises:
      ParameterError: a port out of range.
      OSError: the port cannot be bound (in use, not allowed).
    """
    check_port(port)
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda _loop, _context: None)  # never a traceback
    held = _Connections()
    bound: Future[asyncio.AbstractServer] = Future()
    port_box: list[int] = []

    async def start() -> asyncio.AbstractServer:
        def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Any:
            return _handle(site, port_box[0], held, reader, writer)

        server = await asyncio.start_server(handler, HOST, port, limit=MAX_HEAD_BYTES,
                                            backlog=MAX_CONNECTIONS)
        port_box.append(server.sockets[0].getsockname()[1])
        return server

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            server = loop.run_until_complete(start())
        except BaseException as exc:
            bound.set_exception(exc)
            return
        bound.set_result(server)
        loop.run_forever()
        server.close()
        with contextlib.suppress(Exception):
            loop.run_until_complete(server.wait_closed())

    thread = threading.Thread(target=run, name="reportgen-serve", daemon=True)
    thread.start()
    try:
        bound.result()
        yield f"http://{HOST}:{port_box[0]}/"
    finally:
        if loop.is_running() or thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        if not thread.is_alive():
            loop.close()
