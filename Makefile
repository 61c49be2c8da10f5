# The two commands a new machine needs (see README.md): `make demo` and `make test`.
# Each sets up what it needs first: a virtualenv with the project, and the built-in strategies.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup strategies lint clean

demo: setup
	$(BIN)/tournament run --game rps --rounds 1000 --seed 42

test: setup
	bash scripts/test.sh

setup: $(STAMP) strategies

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11+ is required)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[build,dev]'
	touch $(STAMP)

strategies: $(STAMP)
	$(BIN)/python strategies/build.py
	$(BIN)/python -m tournament.sandbox.native

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) strategies/build
