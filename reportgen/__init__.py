"""reportgen: reproducible lecture handouts on gradient descent for linear regression.

The public API, loaded lazily: ``import reportgen`` imports no JAX, matplotlib or
WeasyPrint; each name below is imported on first use.

>>> import reportgen
>>> cfg = reportgen.load_config("source-notebook", overrides={"runs.0.learning_rate": 0.3})
>>> rep = reportgen.build(cfg, out="build/x")          # doctest: +SKIP
>>> reportgen.verify("build/x").ok                     # doctest: +SKIP
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from reportgen._version import __version__

if TYPE_CHECKING:
    from reportgen.api import Report as Report
    from reportgen.api import Results as Results
    from reportgen.api import build as build
    from reportgen.api import build_batch as build_batch
    from reportgen.api import compute as compute
    from reportgen.api import load_config as load_config
    from reportgen.api import verify as verify
    from reportgen.config import Config as Config
    from reportgen.config import ConfigError as ConfigError
    from reportgen.course.batch import BatchResult as BatchResult
    from reportgen.errors import ParameterError as ParameterError
    from reportgen.store.output import OutputError as OutputError
    from reportgen.verification import Verification as Verification

#: Each public name and the module that defines it.
_EXPORTS = {
    "load_config": "reportgen.api",
    "compute": "reportgen.api",
    "build": "reportgen.api",
    "build_batch": "reportgen.api",
    "verify": "reportgen.api",
    "Results": "reportgen.api",
    "Report": "reportgen.api",
    "Config": "reportgen.config",
    "ConfigError": "reportgen.config",
    "ParameterError": "reportgen.errors",
    "OutputError": "reportgen.store.output",
    "BatchResult": "reportgen.course.batch",
    "Verification": "reportgen.verification",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'reportgen' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
