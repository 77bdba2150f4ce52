# Two commands are all the set-up there is: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint typecheck pytest test-services clean web web-test

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
WEB_SOURCES := $(shell find web/src web/index.html web/package-lock.json web/vite.config.ts -type f 2>/dev/null)
src/spatialviz/static/index.html: $(WEB_SOURCES)
	@if command -v npm >/dev/null 2>&1; then \
		cd web && npm ci --no-audit --no-fund && npm run build; \
	else \
		echo "Node.js not found: the web client is not built (the API still runs)."; \
	fi

web: src/spatialviz/static/index.html

web-test:
	cd web && npm ci --no-audit --no-fund && npm test

run: install web
	$(BIN)/spatialviz migrate
	@echo "Spatialviz is starting on http://$(HOST):$(PORT)  (API docs: http://$(HOST):$(PORT)/docs)"
	$(BIN)/spatialviz serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations

typecheck: install
	$(BIN)/mypy

pytest: install web
	$(BIN)/pytest -q

test: lint typecheck web-test pytest

# The same suite against real PostgreSQL and Redis (what CI runs second).
test-services:
	SPATIALVIZ_TEST_SERVICES=1 $(MAKE) test

lock: $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --extra dev -o requirements.lock --python $(BIN)/python -q

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
