# audit-ledger — `make run` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_EVENTS ?= 20000

.PHONY: install run test lint fmt bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

run: install
	$(BIN)/ledger demo --events $(DEMO_EVENTS)
	$(BIN)/ledger seal
	$(BIN)/ledger verify
	@echo
	@echo "Service on http://127.0.0.1:8000 (OpenAPI UI: /schema). In another shell:"
	@echo '  TOKEN=$$($(BIN)/ledger token issue --role dispute_handler --sub handler-1 --ttl 1h)'
	@echo '  curl -H "Authorization: Bearer $$TOKEN" "http://127.0.0.1:8000/rounds/rnd-0000017?proofs=true"'
	@echo "More in README.md (curl examples per role). Ctrl-C stops the service."
	$(BIN)/ledger serve --seal

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python -m bench.append
	$(BIN)/python -m bench.sqlite_writers
	$(BIN)/python -m bench.merkle
	$(BIN)/python -m bench.projections
	$(BIN)/python -m bench.bundle
	$(BIN)/python -m bench.http
	$(BIN)/python -m bench.verify
	$(BIN)/python -m bench.report

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
