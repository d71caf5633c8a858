# sixdeg: `make run` starts the whole product on embedded defaults; `make test` runs every test
# against real Postgres, RabbitMQ, Neo4j and OpenSearch (started by `make services`).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run install services services-stop services-status lint test test-fast clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,dev,bench]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/sixdeg migrate
	$(BIN)/sixdeg serve

services:
	bash servers/services.sh start

services-stop:
	bash servers/services.sh stop

services-status:
	bash servers/services.sh status

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: install services lint
	mkdir -p var
	$(BIN)/pytest --junitxml=var/test-results.xml $(PYTEST_ARGS)

# Unit tests only: no services needed.
test-fast: install
	$(BIN)/pytest tests/unit -q

clean:
	rm -rf $(VENV) var/test-results.xml .pytest_cache .ruff_cache
