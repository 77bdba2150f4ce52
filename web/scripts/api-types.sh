#!/bin/sh
# Regenerates src/api-types.ts from the server's OpenAPI document (the one /openapi.json
# serves). Run after changing an API schema: `npm run api-types` in web/; the pytest test
# tests/test_api_types.py fails while the committed file differs from what this writes.
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-../.venv/bin/python}"
document="$(mktemp)"
trap 'rm -f "$document"' EXIT
"$PYTHON" -m spatialviz.openapi_document > "$document"
npx --no-install openapi-typescript "$document" --output src/api-types.ts
