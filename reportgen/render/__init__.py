"""The rendering layer: plain results in, figures, HTML, PDF and a notebook out. Never
imports JAX.

This package module itself imports nothing heavy: the command line reads ``FORMATS`` here
without loading matplotlib, WeasyPrint or nbformat.
"""

#: Each output format a report can be rendered in, and the file it writes.
FORMAT_FILES = {"html": "index.html", "pdf": "handout.pdf", "ipynb": "handout.ipynb"}
#: The output formats, in the order their files are listed.
FORMATS = tuple(FORMAT_FILES)
