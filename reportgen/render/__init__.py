"""The rendering layer: plain results in, figures, HTML and PDF out. Never imports JAX.

This package module itself imports nothing heavy: the command line reads ``FORMATS`` here
without loading matplotlib or WeasyPrint.
"""

#: The output formats a report can be rendered in.
FORMATS = ("html", "pdf")
