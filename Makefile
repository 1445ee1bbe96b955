# Two commands on a fresh machine with only Python 3.11+:
#   make demo   create .venv, install pinned dependencies, run the demo
#   make test   the same set-up, then lint, type-check and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-spark lint typecheck bench clean system-packages java

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,spark,bench]'
	touch $(STAMP)

# Debian packages the tests drive: Chromium for the dashboard and report browser tests.
system-packages:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

# Java for the Spark engine's tests (pyspark 4.0 runs on Java 17).
java:
	command -v java >/dev/null || (apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless)

demo: $(STAMP)
	$(BIN)/mallseg --workspace mallseg-workspace demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck system-packages java
	$(BIN)/pytest

# The Spark engine alone: DuckDB and a local Spark session on the same simulated mall.
test-spark: $(STAMP) java
	$(BIN)/pytest -p no:cacheprovider tests/distributed src/mallseg/distributed

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) mallseg-workspace .pytest_cache .mypy_cache .ruff_cache
