# kpo — one command per stage. `make demo` and `make test` work on a fresh machine with Python 3.11,
# pip, make and git: uv is bootstrapped with pip, then the locked environment is built from uv.lock.
PYTHON ?= python3
UV := $(PYTHON) -m uv
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kpo-synced
PYTEST_ARGS ?=

# Bytecode is compiled once at set-up and cached: each kpo run and test starts several Python processes,
# and compiling pandas/great-expectations/dagster from source each time costs seconds per process.
unexport PYTHONDONTWRITEBYTECODE
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := false
export DAGSTER_DISABLE_TELEMETRY := 1

.PHONY: setup demo test dev lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	@touch $(STAMP)

demo: setup
	$(BIN)/kpo demo

# Two workers, balanced by xdist groups: the demo publication's tests (see tests/conftest.py) and the incremental
# test on one; the fault-injection test (~400 s) and the plugin tests on the other (~9 min in all).
test: setup
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

dev: setup
	$(BIN)/kpo dev

lint: setup
	$(BIN)/ruff check pipelines plugins tests bench
	$(BIN)/kpo lint-sql

bench: setup
	$(BIN)/python -m bench.run

clean:
	rm -rf data $(VENV)
