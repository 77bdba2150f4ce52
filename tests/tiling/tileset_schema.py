"""The 3D Tiles 1.1 tileset JSON rules our output must meet, as a JSON Schema.

No registry package ships the official 3D Tiles schemas (the py3dtiles wheel and the npm
3d-tiles-tools package do not include them), so this restates the specification's
requirements for the parts we write (tileset, asset, tile, boundingVolume, content),
stricter than the official schema: unknown properties are refused.
"""

from __future__ import annotations

from typing import Any

_NUMBER_ARRAY = {"type": "array", "items": {"type": "number"}}
_EXT = {"type": "object"}

BOUNDING_VOLUME: dict[str, Any] = {
    "type": "object",
    "properties": {
        "box": {**_NUMBER_ARRAY, "minItems": 12, "maxItems": 12},
        "region": {**_NUMBER_ARRAY, "minItems": 6, "maxItems": 6},
        "sphere": {**_NUMBER_ARRAY, "minItems": 4, "maxItems": 4},
        "extensions": _EXT,
        "extras": {},
    },
    "minProperties": 1,
    "anyOf": [{"required": ["box"]}, {"required": ["region"]}, {"required": ["sphere"]}],
    "additionalProperties": False,
}

CONTENT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "uri": {"type": "string", "minLength": 1},
        "boundingVolume": BOUNDING_VOLUME,
        "group": {"type": "integer", "minimum": 0},
        "metadata": _EXT,
        "extensions": _EXT,
        "extras": {},
    },
    "required": ["uri"],
    "additionalProperties": False,
}

TILE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "boundingVolume": BOUNDING_VOLUME,
        "viewerRequestVolume": BOUNDING_VOLUME,
        "geometricError": {"type": "number", "minimum": 0},
        "refine": {"enum": ["ADD", "REPLACE"]},
        "transform": {**_NUMBER_ARRAY, "minItems": 16, "maxItems": 16},
        "content": CONTENT,
        "contents": {"type": "array", "items": CONTENT, "minItems": 1},
        "metadata": _EXT,
        "implicitTiling": _EXT,
        "children": {"type": "array", "items": {"$ref": "#/$defs/tile"}, "minItems": 1},
        "extensions": _EXT,
        "extras": {},
    },
    "required": ["boundingVolume", "geometricError"],
    "not": {"required": ["content", "contents"]},
    "additionalProperties": False,
}

TILESET: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {"tile": TILE},
    "type": "object",
    "properties": {
        "asset": {
            "type": "object",
            "properties": {
                "version": {"const": "1.1"},
                "tilesetVersion": {"type": "string"},
                "generator": {"type": "string"},
                "extensions": _EXT,
                "extras": {},
            },
            "required": ["version"],
            "additionalProperties": False,
        },
        "properties": _EXT,
        "schema": _EXT,
        "schemaUri": {"type": "string"},
        "statistics": _EXT,
        "groups": {"type": "array"},
        "metadata": _EXT,
        "geometricError": {"type": "number", "minimum": 0},
        "root": {"$ref": "#/$defs/tile"},
        "extensionsUsed": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "extensionsRequired": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "extensions": _EXT,
        "extras": {},
    },
    "required": ["asset", "geometricError", "root"],
    "additionalProperties": False,
}
