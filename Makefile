# Two commands do everything: `make demo` and `make test`. Both install into .venv first.
SHELL := /bin/sh
PYTHON ?= $(shell scripts/find-python)
VENV := .venv
BIN := $(VENV)/bin
KEYWORD ?=

.PHONY: demo test chaos fuzz bench bench-api bench-chains bench-etsy bench-trends bench-print-file install install-dev lint up down openapi docs clean

# uv installs the project in about a third of pip's time (28 s against 99 s for the dev
# extra, cold caches, on the 2-core CI machine), bytecode compiled up front so the stack's
# processes do not each compile it at first import. pip stays the fallback: an index that
# only pip is configured for (pip.conf) still works.
$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.12+ is required" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q uv || true

install_into_venv = { test -x $(BIN)/uv && $(BIN)/uv pip install -q --python $(BIN)/python \
	--compile-bytecode $(1); } || $(BIN)/python -m pip install -q $(1)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(call install_into_venv,-e .)
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(call install_into_venv,-e '.[dev]')
	@touch $@ $(VENV)/.installed

# The project's own modules, compiled before the commands that start processes: with
# PYTHONDONTWRITEBYTECODE set (as on the CI machine) every `pod` process and test worker
# compiled them again at import, about 0.9 s of CPU each (py-spy: 2.4 % of the suite's
# samples in `source_to_code`). Up-to-date files are skipped.
SOURCES := activities api cli core domain integrations models sandbox services workers workflows scripts tests
compile_sources = $(BIN)/python -m compileall -q $(SOURCES)

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## demo: start the embedded stack if needed and turn one keyword into a live listing
demo: $(VENV)/.installed
	@$(compile_sources)
	$(BIN)/pod demo $(KEYWORD)

## test: lint, format check, types, OpenAPI drift, the whole suite with >= 94 % coverage
# mypy and bandit (over a minute of one core, cold) run beside the suite, not before it;
# their output follows the suite's. The OpenAPI drift check is a test of the suite
# (tests/cli/test_openapi_command.py), as `pod openapi --check` in `make lint`.
test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@$(compile_sources)
	@{ $(BIN)/mypy . && $(BIN)/bandit -c pyproject.toml -r . -ll -q; } >$(VENV)/static.log 2>&1 & \
	static=$$!; \
	$(BIN)/pytest; suite=$$?; \
	wait $$static; checks=$$?; \
	echo "mypy, bandit:"; cat $(VENV)/static.log; \
	test $$suite -eq 0 && test $$checks -eq 0

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/bandit -c pyproject.toml -r . -ll -q
	$(BIN)/pod openapi --check

## chaos: the fault tests at full size (twenty runs under vendor faults, an image worker killed mid-design, Temporal killed and Postgres stopped for a minute under ten runs)
chaos: $(VENV)/.installed-dev
	$(BIN)/pytest -o addopts="-q -n 2 --dist loadscope -p no:cacheprovider" -m chaos

## fuzz: the schemathesis contract run with many more examples per operation, valid data accepted and invalid refused
fuzz: $(VENV)/.installed-dev
	POD_FUZZ_EXAMPLES=$${POD_FUZZ_EXAMPLES:-100} $(BIN)/pytest -o addopts="-q -p no:cacheprovider" tests/api/test_contract_fuzz.py

## bench: every benchmark below, one after another
bench: bench-api bench-chains bench-etsy bench-trends bench-print-file

## bench-api: authenticated reads at 50 connections and with 1 s think time, against bare references (issue 15; not a timed test)
bench-api: $(VENV)/.installed
	$(BIN)/python scripts/bench_api.py --json .pod/bench-api.json

## bench-chains: 20 whole chains at once: listings/min, CPU-s per listing, time per stage (issue 15; not a timed test)
bench-chains: $(VENV)/.installed
	$(BIN)/python scripts/bench_chains.py --json .pod/bench-chains.json

## bench-etsy: 100 Etsy calls from two worker processes at 10/s (ADR 0013; not a timed test)
bench-etsy: $(VENV)/.installed
	$(BIN)/python scripts/bench_etsy_rate.py

## bench-trends: GET /v1/trends/{id}/similar over 100 000 signals, p95 vs 20 ms (ADR 0017; not a timed test)
bench-trends: $(VENV)/.installed
	$(BIN)/python scripts/bench_trend_similar.py

## bench-print-file: make_print_file at 4500x5400 against bare Pillow, ratios (ADR 0022; not a timed test)
bench-print-file: $(VENV)/.installed
	$(BIN)/python scripts/bench_print_file.py

up: $(VENV)/.installed
	@$(compile_sources)
	$(BIN)/pod up

down: $(VENV)/.installed
	$(BIN)/pod down

openapi docs: $(VENV)/.installed
	$(BIN)/pod openapi
	$(BIN)/python scripts/gen_api_docs.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
