"""The Content-Security-Policy every page reportgen writes carries (one definition).

Nothing may be fetched (images only as ``data:`` URIs, styles only inline), no script runs,
no base URL or form target can be set. The renderer puts it first in ``<head>`` whatever a
template writes; the shipped templates print it from the context.
"""

from __future__ import annotations

CONTENT_SECURITY_POLICY = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
                           "base-uri 'none'; form-action 'none'")
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
