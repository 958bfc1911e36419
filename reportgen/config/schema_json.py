"""The config's JSON Schema, from the pydantic model, in one canonical spelling: what
``reportgen schema`` prints, ``init`` writes, and editors validate config files with."""

from __future__ import annotations

import json
from typing import Any

from reportgen.config.schema import Config

SCHEMA_ID = "https://reportgen.invalid/config.schema.json"


def json_schema() -> dict[str, Any]:
    """The config's JSON Schema (draft 2020-12), from the pydantic model: every key, its
    type, range, allowed values and description; unknown keys are refused."""
    schema = _canonical_schema(Config.model_json_schema(mode="validation"))
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            **schema}


def json_schema_text() -> str:
    """``json_schema()`` as the text ``reportgen schema`` prints and ``init`` writes."""
    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _canonical_schema(node: Any) -> Any:
    """The schema in one spelling whatever pydantic version wrote it (2.7 wraps a ``$ref``
    with a default in a one-item ``allOf``, repeats a ``const`` as an ``enum``; 2.11 adds
    ``additionalProperties: true``): the same rules, the same text."""
    if isinstance(node, list):
        return [_canonical_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _canonical_schema(value) for key, value in node.items()}
    _unwrap_lone_ref(out)
    if "const" in out and out.get("enum") == [out["const"]]:
        del out["enum"]
    if out.get("additionalProperties") is True and out.get("type") == "object":
        del out["additionalProperties"]
    return out


def _unwrap_lone_ref(node: dict[str, Any]) -> None:
    """``{"allOf": [{"$ref": R}]}`` becomes ``{"$ref": R}``."""
    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and set(all_of[0]) == {"$ref"}:
        del node["allOf"]
        node["$ref"] = all_of[0]["$ref"]
