"""Values and keys spelled as TOML spells them, for messages and the TOML writer.

A message quotes what the user gave in the language they wrote it in (``nan``, ``[1.0,
2.0]``, ``runs[1].batch_size``, ``matrix."data.n"``), not Python's ``repr``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Sequence
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def show(value: Any) -> str:
    """A given value as TOML spells it (``nan``, ``inf``, ``[1.0, 2.0]``), shortened."""
    text = toml_literal(value)
    return text if len(text) <= 60 else text[:57] + "..."


def toml_literal(value: Any) -> str:
    """``value`` written as a TOML literal, as far as TOML can write it (else JSON, repr)."""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    try:
        return json.dumps(value)
    except TypeError:
        return repr(value)


def toml_string(text: str) -> str:
    """A TOML basic string; unlike JSON, never a surrogate pair (TOML rejects those)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(
        f"\\u{ord(char):04x}" if ord(char) < 0x20 or ord(char) == 0x7F else char
        for char in escaped
    ) + '"'


def key_part(part: str) -> str:
    """A key part as TOML writes it: bare when it can be, else quoted (``"x.y"``)."""
    return part if _BARE_KEY.fullmatch(part) else toml_string(part)


def dotted(location: Sequence[int | str]) -> str:
    """A field's path as messages name it: ``runs[1].batch_size``; ``config`` when empty."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{key_part(part)}" if path else key_part(str(part))
    return path or "config"
