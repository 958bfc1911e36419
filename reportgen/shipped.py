"""Where the shipped templates and handout configs live: package data of the install.

``templates/`` and ``reports/`` at the top of the checkout are installed as the regular
packages ``reportgen.templates`` and ``reportgen.reports`` (see pyproject.toml), so
``importlib.resources`` finds them in a wheel, an sdist install and an editable checkout
alike. Running from a bare source tree (no install at all), the checkout's folders are used.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[1]


def _package_dir(package: str, checkout_name: str) -> Path:
    """The folder of a data package: the installed one, else the checkout's."""
    try:
        found = resources.files(package)
    except ModuleNotFoundError:
        found = None
    if isinstance(found, Path) and found.is_dir():
        return found
    fallback = _CHECKOUT / checkout_name
    if fallback.is_dir():
        return fallback
    raise RuntimeError(f"reportgen is installed without its {checkout_name}/ data ({package})")


def templates_dir() -> Path:
    """The shipped Jinja templates and CSS."""
    return _package_dir("reportgen.templates", "templates")


def reports_dir() -> Path:
    """The shipped handout configs (one TOML per handout)."""
    return _package_dir("reportgen.reports", "reports")


def shipped_handouts() -> list[str]:
    """Names of the shipped handouts, sorted."""
    return sorted(p.stem for p in reports_dir().glob("*.toml"))


def shipped_templates() -> list[str]:
    """Names of the shipped templates (HTML and CSS), as ``--templates`` overrides them:
    ``handout.html``, ``partials/figure.html``, ...; sorted. The scaffold ``init`` copies
    is not one of them."""
    root = templates_dir()
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*")
                  if path.suffix in (".html", ".css") and path.is_file()
                  and path.relative_to(root).parts[0] != "scaffold")
