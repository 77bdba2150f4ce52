"""The web client's TypeScript types are generated from the OpenAPI document the server
serves; this fails when the committed file (web/src/api-types.ts) drifts from it. Fix a
failure with `npm run api-types` in web/ and commit the result."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from spatialviz.openapi_document import document

WEB = Path(__file__).resolve().parents[1] / "web"
COMMITTED = WEB / "src" / "api-types.ts"
GENERATOR = WEB / "node_modules" / "openapi-typescript" / "bin" / "cli.js"
REQUIRED = os.environ.get("SPATIALVIZ_REQUIRE_BROWSER") == "1"


def _node() -> str:
    node = shutil.which("node")
    if node is None or not GENERATOR.exists():
        reason = "Node.js and web/node_modules are needed (make web)"
        if REQUIRED:
            pytest.fail(reason)
        pytest.skip(reason)
    return node


def generate(schema: dict[str, object], tmp_path: Path) -> str:
    source = tmp_path / "openapi.json"
    source.write_text(json.dumps(schema, indent=2))
    output = tmp_path / "api-types.ts"
    subprocess.run(
        [_node(), str(GENERATOR), str(source), "--output", str(output)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return output.read_text()


def test_committed_types_match_the_servers_openapi(tmp_path: Path) -> None:
    assert generate(document(), tmp_path) == COMMITTED.read_text(), (
        "web/src/api-types.ts is stale: run `npm run api-types` in web/ and commit it"
    )


def test_a_changed_field_is_caught(tmp_path: Path) -> None:
    """The comparison can fail: the dataset's CRS typed as a string (the drift that broke
    the dataset page) generates different types."""
    schema = document()
    dataset = schema["components"]["schemas"]["DatasetOut"]
    dataset["properties"]["crs"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert generate(schema, tmp_path) != COMMITTED.read_text()
