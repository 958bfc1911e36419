"""A linear scan of TOML's shape, so that hostile nesting is refused before tomllib
recurses into it: arrays and inline tables open at once, and parts of a dotted key."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from reportgen.config.limits import MAX_KEY_PARTS, MAX_TOML_NESTING

# Strings and comments (skipped whole, so that brackets and dots inside them do not
# count), and the punctuation that nests or splits keys. An unterminated string matches
# nothing here; tomllib then reports it.
TOML_TOKEN = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"{3,5}'
    r"|'''(?:[^']|'(?!''))*'{3,5}"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'[^'\n]*'"
    r"|#[^\n]*"
    r"|[\[\]{},.=\n]",
    re.S,
)


def toml_shape_error(text: str) -> str | None:
    """Why ``text`` nests too deeply to be parsed safely, or None; one linear scan.

    Counts the arrays and inline tables open at once (at most ``MAX_TOML_NESTING``) and
    the parts of each dotted key and table header (at most ``MAX_KEY_PARTS``).
    """
    scan = _Scan()
    handlers = scan.handlers()
    for match in TOML_TOKEN.finditer(text):
        token = match.group()
        error = handlers.get(token[0], _skip)(token)
        if error is not None:
            return error
    return None


def _skip(_token: str) -> None:
    """A comment: nothing in it counts."""


@dataclass
class _Scan:
    """Where the scan stands: the brackets open, the line, and the key being read."""

    stack: list[str] = field(default_factory=list)  # "[" and "{" open at once
    line: int = 1
    at_key: bool = True  # reading a key (before "=", or inside an inline table)
    header: bool = False  # inside a [table] or [[array of tables]] header
    dots: int = 0  # dots in the key read so far

    def handlers(self) -> dict[str, Callable[[str], str | None]]:
        """Each token's handler by its first character."""
        return {"\n": self.newline, '"': self.string, "'": self.string,
                "[": self.open, "{": self.open, "]": self.close, "}": self.close,
                ".": self.dot, "=": self.equals, ",": self.comma}

    def newline(self, _token: str) -> None:
        self.line += 1
        if not self.stack:
            self.at_key, self.header, self.dots = True, False, 0

    def string(self, token: str) -> None:
        self.line += token.count("\n")

    def open(self, token: str) -> str | None:
        if token == "[" and not self.stack and self.at_key and self.dots == 0:
            self.header = True  # [table] or [[array of tables]]
            return None
        self.stack.append(token)
        if len(self.stack) > MAX_TOML_NESTING:
            return (f"line {self.line}: expected arrays and inline tables nested at most "
                    f"{MAX_TOML_NESTING} deep")
        self.at_key, self.dots = token == "{", 0
        return None

    def close(self, token: str) -> None:
        if token == "]" and self.header:
            self.header = self.at_key = False
            return
        if self.stack:
            self.stack.pop()
        self.at_key = False

    def dot(self, _token: str) -> str | None:
        if not self.at_key:
            return None
        self.dots += 1
        if self.dots >= MAX_KEY_PARTS:
            return f"line {self.line}: expected a dotted key of at most {MAX_KEY_PARTS} parts"
        return None

    def equals(self, _token: str) -> None:
        self.at_key, self.dots = False, 0

    def comma(self, _token: str) -> None:
        self.at_key, self.dots = bool(self.stack) and self.stack[-1] == "{", 0
