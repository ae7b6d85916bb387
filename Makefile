# Quorum: the README's two commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export QUORUM_HOME ?= $(CURDIR)/.quorum
export DAGSTER_HOME ?= $(QUORUM_HOME)/dagster

.PHONY: install run test ui feast mlflow metrics backtest lint lock clean

# Installs only when pyproject.toml or the lock changed since the last install.
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

run: install
	$(BIN)/python -m orchestration.run_daily

test: install
	$(BIN)/python -m pytest

ui: install
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# The Feast CLI on Quorum's feature repo, e.g. make feast ARGS="feature-views list"
feast: install
	QUORUM_FEAST_PROJECT=$${QUORUM_FEAST_PROJECT:-quorum} $(BIN)/feast -c features $(ARGS)

# MLflow's UI over the embedded store, bound to localhost.
mlflow: install
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(QUORUM_HOME)/mlflow/mlflow.db \
		--host 127.0.0.1 --port 5000

# Prometheus exposition of the desk's metrics from the ledger, on 127.0.0.1 only.
metrics: install
	$(BIN)/python -m monitoring.metrics

# The walk-forward backtest of the desk and its benchmarks (after `make run`).
backtest: install
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/dagster asset materialize -m orchestration.definitions --select backtest_report

lint: install
	$(BIN)/ruff check .

# Regenerates the pinned set from pyproject.toml (needs network to the package registry).
lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
		--no-header --no-annotate -o requirements.lock

clean:
	rm -rf $(QUORUM_HOME) dbt/target dbt/logs
