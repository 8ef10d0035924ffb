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

DEMO_END := 2026-11-01

run: $(STAMP)
	$(BIN)/leadscore demo-data --leads 2000 --seed 7 --end $(DEMO_END) --out demo
	$(BIN)/leadscore score --model examples/b2b-saas.yaml --leads demo/leads.parquet \
	    --events demo/events.parquet --as-of $(DEMO_END) --out demo/scores.csv
	$(BIN)/leadscore top --model examples/b2b-saas.yaml --leads demo/leads.parquet \
	    --events demo/events.parquet --as-of $(DEMO_END) --limit 15

clean:
	rm -rf $(VENV) demo build *.egg-info src/*.egg-info
