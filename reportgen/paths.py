"""Where the shipped templates and handout configs live, installed or in a checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent


def _package_dir(package: str, checkout_name: str) -> Path:
    """The folder of a data package: the installed one, else the checkout's."""
    try:
        found = Path(str(resources.files(package)))
        if found.is_dir():
            return found
    except (ModuleNotFoundError, TypeError):
        pass
    return _CHECKOUT / checkout_name


def templates_dir() -> Path:
    """The shipped Jinja templates and CSS."""
    return _package_dir("reportgen.templates", "templates")


def reports_dir() -> Path:
    """The shipped handout configs (one TOML per handout)."""
    return _package_dir("reportgen.reports", "reports")


def shipped_handouts() -> list[str]:
    """Names of the shipped handouts, sorted."""
    return sorted(p.stem for p in reports_dir().glob("*.toml"))
