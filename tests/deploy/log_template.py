"""The Elasticsearch index template of deploy/elasticsearch, read for the tests that check
the log fields against it (tests/deploy/test_log_shipping.py, tests/kit/test_log_fields.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "elasticsearch" / "index-template.json"


def template() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(TEMPLATE.read_text())
    return loaded


def mapped_fields() -> dict[str, str]:
    """Every leaf field of the template's mappings, dotted path → Elasticsearch type."""
    fields: dict[str, str] = {}

    def walk(properties: dict[str, Any], prefix: str) -> None:
        for name, spec in properties.items():
            if "properties" in spec:
                walk(spec["properties"], f"{prefix}{name}.")
            else:
                fields[f"{prefix}{name}"] = spec["type"]

    walk(template()["template"]["mappings"]["properties"], "")
    return fields
