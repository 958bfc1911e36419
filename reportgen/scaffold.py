"""``reportgen init``: a new handout folder to start from.

Writes a commented config with every section, the JSON Schema that editors read through
its ``#:schema`` line, and a ``templates/`` folder with one overridable template and a
note on how overriding works. It never overwrites a file.
"""

from __future__ import annotations

import os
from pathlib import Path

from reportgen.config import ConfigError, json_schema_text
from reportgen.shipped import templates_dir

CONFIG_FILE = "handout.toml"
SCHEMA_FILE = "reportgen.schema.json"
#: The shipped template a new folder gets a copy of, to show how overriding works.
EXAMPLE_TEMPLATE = "partials/provenance.html"


def files() -> dict[str, str]:
    """The files of a new handout folder, by relative path."""
    shipped = templates_dir()
    return {
        CONFIG_FILE: (shipped / "scaffold" / CONFIG_FILE).read_text(encoding="utf-8"),
        SCHEMA_FILE: json_schema_text(),
        "templates/README.md": (shipped / "scaffold" / "README.md").read_text(encoding="utf-8"),
        f"templates/{EXAMPLE_TEMPLATE}": (shipped / EXAMPLE_TEMPLATE).read_text(encoding="utf-8"),
    }


def scaffold(folder: Path) -> list[Path]:
    """Write a new handout folder into ``folder``; returns the files written.

    Raises:
      ConfigError: one of the files already exists (nothing is written then).
    """
    planned = {folder / name: text for name, text in files().items()}
    for path in planned:
        if os.path.lexists(path):
            raise ConfigError(f"init: {path} already exists; reportgen init never overwrites "
                              f"a file (choose an empty folder)")
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"init: {folder} is a file; expected a folder")
    for path, text in planned.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    return list(planned)
