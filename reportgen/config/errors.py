"""The config's exceptions: what the user sees, and a validator's pointer to a field."""

from __future__ import annotations

from collections.abc import Sequence


class ConfigError(ValueError):
    """A bad config, override or path; the message is what the user sees."""


class FieldError(ValueError):
    """Raised inside validators to name a field deeper than the one validated."""

    def __init__(self, field: str, message: str, related: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.related = tuple(related)  # other fields the error follows from (data.n)
