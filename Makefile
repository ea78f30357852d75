# numguard — the two commands a newcomer needs: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
BROWSER_PKGS := chromium fonts-wqy-microhei

.PHONY: install browser demo test test-fast lint format bench clean

$(STAMP): pyproject.toml
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "numguard needs Python 3.11 or newer")'
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: install  ## fresh SQLite world, demo clients, curl examples, then serve on 127.0.0.1:8000
	$(BIN)/numguard demo

browser:  ## Debian's chromium (and a CJK font) for the browser tests, installed only when missing
	@{ command -v chromium && dpkg -s fonts-wqy-microhei; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(BROWSER_PKGS); \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	    sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(BROWSER_PKGS); \
	  else \
	    echo "chromium is missing and cannot be installed as $$(id -un): browser tests skip (CI=true fails them)" >&2; \
	  fi; }

test: install browser  ## the whole suite; PostgreSQL and browser tests are required with CI=true
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
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_bulkfile.py
	$(BIN)/python bench/bench_http.py
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_simulation.py

clean:
	rm -rf $(VENV) var build dist src/*.egg-info
