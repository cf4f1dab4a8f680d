# safemeta: `make demo` and `make test` work on a fresh machine (they install first).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $(STAMP)

demo: install
	$(BIN)/safemeta run tune_configs/demo.yaml --restart

test: install
	$(BIN)/python -m pytest -q --timeout=900 --durations=15

lint: install
	$(BIN)/ruff check safemeta tests benchmarks
	$(BIN)/ruff format --check safemeta tests benchmarks

format: install
	$(BIN)/ruff format safemeta tests benchmarks
	$(BIN)/ruff check --fix safemeta tests benchmarks

clean:
	rm -rf results reports mlruns
