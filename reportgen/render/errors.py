"""The renderer's one error type."""

from __future__ import annotations


class RenderError(ValueError):
    """A handout could not be rendered: a template error or a refused resource."""
