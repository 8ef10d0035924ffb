# The two commands of a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint venv clean demo

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

test: lint
	$(BIN)/pytest -q

run: $(STAMP)
	$(BIN)/leadscore demo-data --leads 2000 --seed 7 --out demo
	$(BIN)/leadscore score --model examples/b2b-saas.yaml --leads demo/leads.parquet \
	    --events demo/events.parquet --as-of 2026-01-01T00:00:00Z --out demo/scores.csv
	$(BIN)/leadscore top --model examples/b2b-saas.yaml --leads demo/leads.parquet \
	    --events demo/events.parquet --as-of 2026-01-01T00:00:00Z --limit 15

clean:
	rm -rf $(VENV) demo build *.egg-info src/*.egg-info
