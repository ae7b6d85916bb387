# Quorum: the README's two commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export QUORUM_HOME ?= $(CURDIR)/.quorum
export QUORUM_PROFILE ?= embedded
# One Dagster instance per profile: production and distributed keep theirs in PostgreSQL.
export DAGSTER_HOME ?= $(QUORUM_HOME)/dagster$(if $(filter-out embedded,$(QUORUM_PROFILE)),-$(QUORUM_PROFILE))

.PHONY: install run test ui serve feast mlflow metrics tail backtest lint lock clean

# Installs only when pyproject.toml or the lock changed since the last install.
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

run: install
	$(BIN)/python -m orchestration.run_daily

# Independent test modules run in parallel, one per core (pytest-xdist), in the order
# tests/conftest.py gives them (the slowest first): xdist would otherwise start the files
# with the most tests first, and the few-test, minutes-long integration modules last.
TEST_WORKERS ?= 2
test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=25

# The UI with a daemon for schedules and sensors (dagster dev), on 127.0.0.1 only.
ui: install
	$(BIN)/python -m orchestration.serve dev

# As a service: dagster-daemon (queued runs, schedules, sensors, run monitoring and retries)
# and dagster-webserver on 127.0.0.1:3000, until Ctrl-C. Use with QUORUM_PROFILE=production.
serve: install
	$(BIN)/python -m orchestration.serve

# The Feast CLI on Quorum's feature repo, e.g. make feast ARGS="feature-views list"
feast: install
	$(BIN)/python -m orchestration.serve feast $(ARGS)

# MLflow's UI over the profile's tracking store (SQLite or PostgreSQL), bound to localhost.
mlflow: install
	$(BIN)/python -m orchestration.serve mlflow

# Prometheus exposition of the desk's metrics from the ledger, on 127.0.0.1 only.
metrics: install
	$(BIN)/python -m monitoring.metrics

# Follow the desk live: each event as it is published on Redis Streams (production profile).
tail: install
	$(BIN)/python -m orchestration.tail $(ARGS)

# The walk-forward backtest of the desk and its benchmarks (after `make run`).
backtest: install
	$(BIN)/python -m orchestration.serve dagster asset materialize \
		-m orchestration.definitions --select backtest_report

lint: install
	$(BIN)/ruff check .

# Regenerates the pinned set from pyproject.toml (needs network to the package registry).
lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
		--no-header --no-annotate -o requirements.lock
	# torch's CPU build (the machine's local wheel) needs none of the CUDA wheels PyPI's
	# metadata lists for Linux; pinned, pip would download them (several GB).
	sed -i -E '/^(nvidia-|triton==|cuda-)/d' requirements.lock

clean:
	rm -rf $(QUORUM_HOME) dbt/target dbt/logs
