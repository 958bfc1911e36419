"""The config's defaults and limits (README "Limits"): every bound a field is checked against.

Each limit keeps one kind of hostile or mistaken input bounded in time or memory; the
comment on each says what it bounds.
"""

from __future__ import annotations

import datetime as dt
import os

DEFAULT_HANDOUT = "source-notebook"
#: The name of a config not read from a file (the Python API's ``Config()``).
DEFAULT_NAME = "handout"
#: The build date when a config gives none (a fixed date: builds never read the clock).
DEFAULT_DATE = dt.date(2026, 1, 1)
#: The most memory a loss-surface grid may take, as a share of physical memory.
SURFACE_MEMORY_SHARE = 0.25

#: The largest config file read (the shipped ones are about 2 KB).
MAX_CONFIG_BYTES = 1 << 20
#: Arrays and inline tables nested in each other, and parts of one dotted key: a handout
#: needs 3 of each; tomllib recurses per level and re-checks every prefix of a key.
MAX_TOML_NESTING = 16
MAX_KEY_PARTS = 16
#: Characters of a ``--set`` key.
MAX_KEY_CHARS = 256
#: Characters of the title and author, and of a run's name (legends and headings).
MAX_TITLE_CHARS = 200
MAX_NAME_CHARS = 100
#: Runs in one handout: each gets a section, a figure and a 3D panel.
MAX_RUNS = 12
#: Update steps of all runs together: results.json keeps every step (~90 bytes each).
MAX_STEPS = 1_000_000
#: Learning rates x epochs of the sweep (one vectorised call; only final losses are kept).
MAX_SWEEP_STEPS = 10_000_000
#: (update steps + sweep steps) x data.n: the compute work (each step reads every sample).
MAX_SAMPLE_STEPS = 10**10
#: epochs x data.n of the mini-batch runs: the shuffled index schedule held in memory.
MAX_SHUFFLED = 10_000_000
#: |theta|, |x|, noise and the surface and init coordinates: y stays below ~1e14 and every
#: loss sum over up to 1e8 samples below ~1e37, finite in float32 as well as float64.
MAX_MAGNITUDE = 1e7
#: A range [low, high] must be at least this wide relative to max(1, |low|, |high|): the
#: Hessian's smallest eigenvalue (~ width^2 / 6) then stands well above float64 rounding.
MIN_RELATIVE_WIDTH = 1e-6


def surface_bytes(resolution: int) -> int:
    """Bytes a resolution x resolution float64 grid takes while built and written."""
    return resolution * resolution * 8 * 4


def physical_memory_bytes() -> int:
    """This machine's physical memory (8 GiB when the OS will not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30
