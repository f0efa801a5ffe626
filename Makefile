# Two commands: `make run` (set up and serve on SQLite) and `make test` (set up and run every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test setup db lint browser screenshots bench bench-timers bench-dashboard clean

NODE_STAMP := node_modules/.installed
ASSETS := app/web/static/build/app.css

setup: $(STAMP) $(NODE_STAMP) $(ASSETS)

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# Front-end (GOV.UK Frontend, bpmn-js), diagram tooling (bpmnlint) and axe-core for the browser tests.
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error && touch $(NODE_STAMP); \
	else echo "npm not found: install Node.js 18 or newer for the web app's pages and the diagram checks"; fi

# The web app's CSS and vendor scripts, built from node_modules into app/web/static/build/ (served locally).
$(ASSETS): $(NODE_STAMP) app/web/assets/app.scss app/web/assets/build.mjs
	@if [ -d node_modules/govuk-frontend ]; then npm run --silent build; \
	else echo "node_modules missing: the web pages will have no styles until npm is installed"; fi

# The browser tests drive Debian's chromium (Playwright cannot download a browser here); as root we install it.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update && apt-get install -y chromium; \
	elif [ ! -x /usr/bin/chromium ]; then echo "No /usr/bin/chromium and not root: the browser tests will skip"; fi

db: setup
	$(FLASK) db upgrade

run: db
	$(FLASK) demo seed
	MACE_SCHEDULER=$(if $(REDIS_URL),off,embedded) BASE_URL=$${BASE_URL:-http://$(HOST):$(PORT)} \
		$(FLASK) run --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: lint browser
	$(BIN)/pytest

# Retake docs/screenshots/ from the browser journeys on the real pathway (case, oversight, bottlenecks, meeting);
# the inbox and task pages come from tests/browser/test_pages.py, which `pytest tests/browser` runs too.
screenshots: setup browser
	MACE_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/browser -k journey

bench: db
	$(BIN)/python bench/engine.py --quick

# Sweep latency over 100,000 waiting timers, and firing by two Celery workers (needs Redis; REDIS_URL or db 14).
bench-timers: db
	$(BIN)/python bench/timers.py --quick

# The oversight dashboard and a MACE 1 agenda over 2,000 cases (bench/dashboard.py without --quick: 10,000).
bench-dashboard: db
	$(BIN)/python bench/dashboard.py --quick

clean:
	rm -rf $(VENV) instance node_modules app/web/static/build .pytest_cache .ruff_cache
