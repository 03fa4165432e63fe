# Every target first makes or updates .venv (and .venv-bench for the peers), so a fresh
# clone needs nothing but Python 3.11 and pip.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BENCH_VENV := .venv-bench
STAMP := $(VENV)/.installed
BENCH_STAMP := $(BENCH_VENV)/.installed

.PHONY: demo test bench lint venv bench-venv clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

$(BENCH_STAMP): benchmarks/requirements-peers.txt
	test -d $(BENCH_VENV) || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q --upgrade pip
	$(BENCH_VENV)/bin/pip install -q -r benchmarks/requirements-peers.txt
	touch $(BENCH_STAMP)

bench-venv: $(BENCH_STAMP)

demo: $(STAMP)
	$(BIN)/glassnet demo

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP) $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.run

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples

clean:
	rm -rf $(VENV) $(BENCH_VENV) build *.egg-info src/*.egg-info
