"""A report folder's layout: the names of its files, and where a build writes by default.

One definition for every module that writes, reads, serves or verifies a report.
"""

from __future__ import annotations

from pathlib import Path

HTML_FILE = "index.html"
PDF_FILE = "handout.pdf"
NOTEBOOK_FILE = "handout.ipynb"
RESULTS_FILE = "results.json"
MANIFEST_FILE = "manifest.json"
CONFIG_FILE = "config.toml"
BATCH_FILE = "batch.json"
FIGURES_DIR = "figures"
#: The loss grid beside results.json when it is too large to write into it.
SURFACE_FILE = "surface.npy"
#: Where reports go when no folder is named: ``build/<name>/`` and ``build/<name>-batch/``.
BUILD_DIR = Path("build")


def default_report_folder(name: str) -> Path:
    """The folder ``reportgen build NAME`` writes without ``--out``."""
    return BUILD_DIR / name


def default_batch_folder(name: str) -> Path:
    """The folder ``reportgen batch NAME`` writes without ``--out``."""
    return BUILD_DIR / f"{name}-batch"
