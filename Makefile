# sixdeg: `make run` starts the whole product on embedded defaults; `make test` runs every test
# against real Postgres, RabbitMQ, Neo4j and OpenSearch (started by `make services`).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

WEB_STAMP := web/node_modules/.installed
WEB_SOURCES := $(shell find web/src web/index.html web/vite.config.ts web/tsconfig.json -type f 2>/dev/null)

.PHONY: run install web web-test browser k8s-tools promtool services services-stop services-status lint test test-fast bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,dev,bench]'
	touch $(STAMP)

install: $(STAMP)

$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $(WEB_STAMP)

web/dist/index.html: $(WEB_STAMP) $(WEB_SOURCES)
	cd web && npm run build

# The browser app (Vue + Vite), built into web/dist, which `sixdeg serve` and gunicorn serve at /.
web: web/dist/index.html

# Vitest unit tests of the browser app's logic.
web-test: $(WEB_STAMP)
	cd web && npm test

# Debian's Chromium for the browser tests.
browser:
	bash servers/services.sh browser

# On an empty database the demo network is generated (log in as the README says); otherwise your own data.
run: install web
	$(BIN)/sixdeg migrate
	if $(BIN)/sixdeg demo --check >/dev/null 2>&1; then $(BIN)/sixdeg serve --demo; else $(BIN)/sixdeg serve; fi

# The pinned kustomize (v5.5.0, via `go install`) that tests/kubernetes renders the manifests with.
k8s-tools:
	bash servers/kustomize.sh

# promtool (Debian's prometheus package) for the alert-rule tests.
promtool:
	bash servers/promtool.sh

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

test: install services browser k8s-tools promtool lint web web-test
	mkdir -p var
	$(BIN)/pytest --junitxml=var/test-results.xml $(PYTEST_ARGS)

# Every benchmark in bench/ at its suite size (under 30 minutes on 2 cores), each beside its baseline, then the
# results table in docs/benchmarks.md. Run a script in bench/ directly for its full size.
bench: install services browser web
	$(BIN)/python bench/suite.py $(BENCH_ARGS)

# Unit tests only: no services needed.
test-fast: install
	$(BIN)/pytest tests/unit -q

clean:
	rm -rf $(VENV) var/test-results.xml .pytest_cache .ruff_cache web/node_modules web/dist
