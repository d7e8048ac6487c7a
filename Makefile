# Phaselab: `make run` to try it, `make test` to check it. Everything lives in .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
# torch first and pinned, so pip takes the CPU wheel here instead of a multi-GB CUDA build.
TORCH ?= torch==2.13.0
PYTEST_ARGS ?=

.PHONY: install run test lint chromium screenshot bench science clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet -e ".[worker,dev]"
	touch $(STAMP)

install: $(STAMP)

## run: install, upgrade the database, start API + UI + one local worker on http://127.0.0.1:8050
run: install
	$(VENV)/bin/phaselab migrate
	$(VENV)/bin/phaselab serve --workers 1

## chromium: Debian's chromium for the browser tests (Playwright drives it; no browser download)
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi
	@/usr/bin/chromium --version

## lint: ruff, mypy, and the package seams (import-linter contracts in pyproject.toml)
lint: install
	$(VENV)/bin/ruff check backend frontend workers tests bench scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

## test: install what the tests need and run the whole suite (unit, integration on SQLite and PostgreSQL, browser)
test: install chromium
	$(PY) -m pytest $(PYTEST_ARGS)

## science: train every preset of every phenomenon on 3 seeds; check each claim against its expected verdict
science: install
	$(VENV)/bin/phaselab science --seeds 3

screenshot: install chromium
	$(PY) scripts/screenshot.py

bench: install chromium
	$(PY) bench/grokking_bench.py
	$(PY) bench/metric_write_rate.py
	$(PY) bench/curves.py
	$(PY) bench/sharpness.py
	$(PY) bench/viewers.py

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache .mypy_cache .import_linter_cache
