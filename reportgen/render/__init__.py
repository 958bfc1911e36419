"""The rendering layer: plain results in, figures, HTML, PDF and a notebook out. Never
imports JAX.

This package module itself imports nothing heavy: the command line reads ``FORMATS`` here
without loading matplotlib, WeasyPrint or nbformat.
"""

from reportgen.layout import HTML_FILE, NOTEBOOK_FILE, PDF_FILE

#: Each output format a report can be rendered in, and the file it writes.
FORMAT_FILES = {"html": HTML_FILE, "pdf": PDF_FILE, "ipynb": NOTEBOOK_FILE}
#: The output formats, in the order their files are listed.
FORMATS = tuple(FORMAT_FILES)
