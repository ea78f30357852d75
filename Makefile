# numguard — the two commands a newcomer needs: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install demo test test-fast lint format bench clean

$(STAMP): pyproject.toml
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "numguard needs Python 3.11 or newer")'
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: install  ## fresh SQLite world, demo clients, curl examples, then serve on 127.0.0.1:8000
	$(BIN)/numguard demo

test: install  ## the whole suite; PostgreSQL tests run when the server answers (required with CI=true)
	$(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m "not slow"

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: install  ## benchmarks print their figures; never part of `make test`
	$(BIN)/python bench/bench_checks.py
	$(BIN)/python bench/bench_import.py

clean:
	rm -rf $(VENV) var build dist src/*.egg-info
