# Two commands: `make run` (set up and serve on SQLite) and `make test` (set up and run every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test setup db lint bench bench-timers clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

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
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
