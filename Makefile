# Two commands are all the set-up there is: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint typecheck pytest test-services clean web web-test validators lock sbom cesium \
	stack stack-down test-stack

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(BIN)/uv: | $(BIN)/python
	$(BIN)/pip install -q uv

# Installs exactly what requirements.lock pins (reproducible), then the project itself.
install: $(BIN)/uv
	$(BIN)/uv pip sync requirements.lock --python $(BIN)/python -q
	$(BIN)/uv pip install -e . --no-deps --python $(BIN)/python -q

# The web client (web/ → src/spatialviz/static/). Skipped with a note when Node.js is absent;
# rebuilt only when its sources changed.
WEB_SOURCES := $(shell find web/src web/scripts/precompress.ts web/index.html web/package-lock.json web/vite.config.ts -type f 2>/dev/null)
src/spatialviz/static/index.html: $(WEB_SOURCES)
	@if command -v npm >/dev/null 2>&1; then \
		cd web && npm ci --no-audit --no-fund && npm run build; \
	else \
		echo "Node.js not found: install Node.js 20+ (e.g. apt-get install nodejs npm) to build the web client; the API still runs."; \
	fi

web: src/spatialviz/static/index.html

# Khronos glTF-Validator for the tiling tests (npm, pinned by its lock file).
tools/validators/node_modules/.package-lock.json: tools/validators/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		cd tools/validators && npm ci --no-audit --no-fund; \
	else \
		echo "Node.js not found: glTF validation tests will be skipped."; \
	fi

validators: tools/validators/node_modules/.package-lock.json

# CesiumJS for the e2e tests that draw every kind of tileset in it (npm, pinned by its lock
# file; the tests serve its Build/Cesium from a loopback server and download nothing).
tools/cesium/node_modules/.package-lock.json: tools/cesium/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		cd tools/cesium && npm ci --no-audit --no-fund; \
	else \
		echo "Node.js not found: the CesiumJS tests will be skipped."; \
	fi

cesium: tools/cesium/node_modules/.package-lock.json

web-test:
	cd web && npm ci --no-audit --no-fund && npm run lint && npm test

# `spatialviz demo` is idempotent: the first run makes the demo account and its two scenes
# (about 10 s), later runs only print the sign-in. A failed demo says why in one line and
# the server starts anyway.
run: install web
	$(BIN)/spatialviz migrate
	@$(BIN)/spatialviz demo || true
	@echo "Spatialviz is starting on http://$(HOST):$(PORT)  (API docs: http://$(HOST):$(PORT)/docs)"
	$(BIN)/spatialviz serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations

typecheck: install
	$(BIN)/mypy

# The suite runs in PYTEST_WORKERS processes (pytest-xdist; one more than the cores, at most
# 10: much of a test is waiting on a browser, a server or a job; `PYTEST_WORKERS=0` runs it
# in this one). worksteal: an idle process takes tests from a busy one, so one slow module
# does not hold up the end of the run. Each process has its own Redis database and ports
# (tests/conftest.py).
PYTEST_WORKERS ?= $(shell n=$$(nproc); echo $$(( n + 1 > 10 ? 10 : n + 1 )))
pytest: install web validators cesium
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist worksteal

# The static checks run side by side (mypy and the web client's checks are one core each),
# each one's output kept together; then the suite.
test: install
	@$(MAKE) --no-print-directory -j3 --output-sync=target lint typecheck web-test
	@$(MAKE) --no-print-directory pytest

# The same suite against real PostgreSQL and Redis (what CI runs second).
test-services:
	SPATIALVIZ_TEST_SERVICES=1 $(MAKE) test

# The production topology really started on this machine (root; Debian's nginx, PostgreSQL,
# Redis, RabbitMQ, Prometheus, Alertmanager), each tier in its own network namespace
# (src/spatialviz/stack/, docs/operations.md). stack-down removes all of it.
stack: install web
	$(BIN)/python -m spatialviz.stack up

stack-down:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m spatialviz.stack down; \
	else echo "no .venv: nothing of the stack can be up"; fi

# tests/stack: starts its own stack (the one from `make stack` must be down), tests it
# through nginx, removes it. Not part of `make test` (it needs root and takes minutes).
test-stack: install web
	SPATIALVIZ_TEST_STACK=1 $(BIN)/pytest -q -p no:cacheprovider tests/stack

# requirements.lock: everything, for development and tests. requirements.runtime.lock: what
# the container image installs (no test tools).
lock: $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --extra dev -o requirements.lock --python $(BIN)/python -q
	$(BIN)/uv pip compile pyproject.toml -c requirements.lock -o requirements.runtime.lock --python $(BIN)/python -q

# CycloneDX SBOM of what the container image ships, from the lock files (no network).
sbom: install
	$(BIN)/python tools/sbom.py --output build/sbom.cdx.json

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
