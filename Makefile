# Two commands: `make run` (set up and serve on SQLite) and `make test` (set up and run every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test setup browser db lint bench bench-timers clean

NODE_STAMP := node_modules/.installed

setup: $(STAMP) $(NODE_STAMP) browser

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# Front-end and diagram tooling (bpmnlint); without npm the tests that need it skip and say why.
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error && touch $(NODE_STAMP); \
	else echo "npm not found: install Node.js 18 or newer for the diagram checks"; fi

# Browser tests drive Debian's chromium (nothing here can download a browser of its own); without it they skip.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	elif [ ! -x /usr/bin/chromium ]; then echo "chromium not found: install Debian's chromium for the browser tests"; fi

db: setup
	$(FLASK) db upgrade

run: db
	$(FLASK) demo seed
	MACE_SCHEDULER=$(if $(REDIS_URL),off,embedded) $(FLASK) run --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check .

test: lint
	$(BIN)/pytest

bench: db
	$(BIN)/python bench/engine.py --quick

# Sweep latency over 100,000 waiting timers, and firing by two Celery workers (needs Redis; REDIS_URL or db 14).
bench-timers: db
	$(BIN)/python bench/timers.py --quick

clean:
	rm -rf $(VENV) instance node_modules .pytest_cache .ruff_cache
