# The two commands of a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
PORT   ?= $(or $(LEADSCORE_PORT),8000)
HOST   ?= $(or $(LEADSCORE_HOST),127.0.0.1)

.PHONY: run test test-fast lint venv clean demo docs messages

# What serving needs (make run, make demo): the package and its own dependencies.
$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

# What the tests need besides: the test tools and the spark and lightgbm extras.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,spark,lightgbm]'
	touch $(RUN_STAMP) $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

# Two workers, each test file on one worker (files share servers and Spark sessions).
test: lint
	$(BIN)/pytest -q -n 2 --dist loadfile --durations=25

# The quick loop while developing: everything but the tests marked slow.
test-fast: $(STAMP)
	$(BIN)/pytest -q -n 2 --dist loadfile -m "not slow"

# Regenerates docs/cli.md, the CLI reference, from the live app (a test fails when it is stale).
docs: $(STAMP)
	$(BIN)/python -m leadscore.cli.reference docs/cli.md

# Extracts every translatable message (babel.cfg: the dashboard's templates and N_("…") in its
# Python, the e-mail templates) into src/leadscore/locales/messages.pot and merges it into each
# language's .po: new messages come in untranslated (tests/test_translations.py fails until
# they are translated), vanished ones go. Deterministic: a rerun changes nothing.
messages: $(STAMP)
	$(BIN)/python -m leadscore.locales.update .

DEMO_END := 2026-11-01

# Scores demo data offline and shows the best leads, with no database or server.
demo: $(RUN_STAMP)
	$(BIN)/leadscore demo-data --leads 2000 --seed 7 --end $(DEMO_END) --out demo
	$(BIN)/leadscore score --model examples/b2b-saas.yaml --leads demo/leads.parquet \
	    --events demo/events.parquet --as-of $(DEMO_END) --out demo/scores.csv
	$(BIN)/leadscore top --model examples/b2b-saas.yaml --leads demo/leads.parquet \
	    --events demo/events.parquet --as-of $(DEMO_END) --limit 15

# Initialises ./leadscore.db with the example model and demo leads (once), replaces the demo
# admin key (the previous one is revoked) and serves the API and its docs on
# http://$(HOST):$(PORT) (make run PORT=8080, or LEADSCORE_PORT=8080 make run).
run: $(RUN_STAMP)
	@$(BIN)/leadscore init-demo > .leadscore-init.log; status=$$?; cat .leadscore-init.log; exit $$status
	@echo
	@echo "leadscore is starting on http://$(HOST):$(PORT)  (API docs: http://$(HOST):$(PORT)/docs)"
	@echo "Open the dashboard in a browser and log in:  http://$(HOST):$(PORT)/  $$(grep -o 'login .*' .leadscore-init.log | head -1)"
	@echo "Log in to the API with the header:  Authorization: Bearer $$(tail -1 .leadscore-init.log)"
	@echo "For example: curl -H 'Authorization: Bearer $$(tail -1 .leadscore-init.log)' http://$(HOST):$(PORT)/api/v1/leads?limit=5"
	@rm -f .leadscore-init.log
	$(BIN)/leadscore serve --host $(HOST) --port $(PORT)

clean:
	rm -rf $(VENV) demo build *.egg-info src/*.egg-info leadscore.db leadscore.db-wal leadscore.db-shm
