PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test lint typecheck unit clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/pip install -q uv 2>/dev/null || true
	$(BIN)/uv pip sync requirements.lock --python $(BIN)/python -q
	$(BIN)/uv pip install -e . --no-deps --python $(BIN)/python -q

test: install
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations
	$(BIN)/mypy
	$(BIN)/pytest
