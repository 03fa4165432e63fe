# Every target first makes or updates .venv (and .venv-bench for the peers), so a fresh
# clone needs nothing but Python 3.11 and pip.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BENCH_VENV := .venv-bench
STAMP := $(VENV)/.installed
BENCH_STAMP := $(BENCH_VENV)/.installed

.PHONY: demo test bench lint venv bench-venv fixtures clean

# The real PyTorch (CPU wheel) and Keras 3 (torch backend) are test oracles and the peers
# the watchers are tested with. torch is pinned to the CPU wheel on disk; without it they
# are left out, and their tests skip (CI refuses to: see .ci/run).
TORCH_WHEELS ?= /opt/wheels
TORCH_WHEEL = $(wildcard $(TORCH_WHEELS)/torch-2.13.0+cpu-*.whl)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	$(BIN)/pip install -q -e '.[dev]'
	@if [ -n "$(TORCH_WHEEL)" ]; then \
	  $(BIN)/pip install -q --find-links $(TORCH_WHEELS) 'torch==2.13.0' -e '.[dev,frameworks]'; \
	else echo "no CPU torch 2.13.0 wheel in $(TORCH_WHEELS): PyTorch and Keras tests will skip" >&2; fi
	touch $(STAMP)

venv: $(STAMP)

# The peers' torch must be the CPU wheel that lies on disk: a plain `torch` requirement
# would pull a multi-GB CUDA build, so refuse to go on without the wheel.

$(BENCH_STAMP): benchmarks/requirements-peers.txt
	@ls $(TORCH_WHEELS)/torch-2.13.0+cpu-*.whl >/dev/null 2>&1 || { \
	  echo "no CPU torch 2.13.0 wheel in $(TORCH_WHEELS); refusing to let pip fetch a CUDA build" >&2; exit 1; }
	test -d $(BENCH_VENV) || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q --upgrade pip
	$(BENCH_VENV)/bin/pip install -q --find-links $(TORCH_WHEELS) -r benchmarks/requirements-peers.txt
	touch $(BENCH_STAMP)

# Test files made by the real Keras and PyTorch: run by hand, never part of `make test`.
fixtures: $(BENCH_STAMP)
	KERAS_BACKEND=torch $(BENCH_VENV)/bin/python scripts/make_keras_fixtures.py
	KERAS_BACKEND=torch $(BENCH_VENV)/bin/python scripts/make_keras_fixtures.py --check
	$(BENCH_VENV)/bin/python scripts/make_torch_fixtures.py

bench-venv: $(BENCH_STAMP)

demo: $(STAMP)
	$(BIN)/glassnet demo

test: $(STAMP)
	KERAS_BACKEND=torch $(BIN)/python -m pytest

bench: $(STAMP) $(BENCH_STAMP)
	KERAS_BACKEND=torch OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 \
	  $(BIN)/python -m benchmarks.run

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples

clean:
	rm -rf $(VENV) $(BENCH_VENV) build *.egg-info src/*.egg-info
