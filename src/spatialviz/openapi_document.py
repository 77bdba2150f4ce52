"""The OpenAPI document the app serves at /openapi.json, built without starting it.

``python -m spatialviz.openapi_document > openapi.json`` (web/scripts/api-types.sh uses it).
Beside ``app.py``, not in ``kit/``: it builds the whole application, and kit/ is what the
application is built from."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from spatialviz.app import create_app
from spatialviz.config import Settings


def document() -> dict[str, Any]:
    """The document the app serves at /openapi.json (no resources open)."""
    # Throwaway keys in a throwaway directory: building the document signs nothing.
    with tempfile.TemporaryDirectory(prefix="spatialviz-openapi-") as var_dir:
        settings = Settings(
            env="test", var_dir=Path(var_dir), secret_key="openapi-document-" + "x" * 32
        )
        return create_app(settings).openapi()


if __name__ == "__main__":
    json.dump(document(), sys.stdout, indent=2)
    sys.stdout.write("\n")
