# boundbox: `make run` starts everything for development, `make test` runs the whole suite.
SHELL := /bin/sh
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint format bench conformance clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@if [ ! -x $(BIN)/python ]; then \
		python=$$(scripts/find-python) || exit 1; \
		echo "creating $(VENV) with $$python"; \
		$$python -m venv $(VENV) || exit 1; \
	fi
	@echo "installing boundbox and its development tools into $(VENV)"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/boundbox dev

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m bench

# Beanie's own test suite against the dev database: make conformance BEANIE=path/to/beanie
ifneq ($(filter conformance,$(MAKECMDGOALS)),)
ifeq ($(BEANIE),)
$(error make conformance needs BEANIE=path/to/beanie, a Beanie checkout)
endif
endif
# Beanie's test dependencies pin their own ranges (fastapi < 0.130): they get a venv of their own.
CONFORMANCE_VENV := .venv-conformance
conformance:
	@if [ ! -x $(CONFORMANCE_VENV)/bin/python ]; then \
		python=$$(scripts/find-python) || exit 1; \
		$$python -m venv $(CONFORMANCE_VENV) || exit 1; \
	fi
	@$(CONFORMANCE_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[devdb,conformance]'
	$(CONFORMANCE_VENV)/bin/python -m devdb.conformance $(BEANIE)

clean:
	rm -rf $(VENV) $(CONFORMANCE_VENV) .data .pytest_cache .mypy_cache .ruff_cache
