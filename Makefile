# Destek — every workflow is one command. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

-include .env
export

VENV        := .venv
RASA_VENV   := .venv-rasa
PY          := $(VENV)/bin/python
RASA        := $(RASA_VENV)/bin/rasa
KB_SOURCE   ?= bot/data/kb
KB_INDEX    ?= var/kb-index
KB_QUERIES  ?= bot/data/kb_eval/queries.jsonl
XQUAD_DIR   ?= ../shared/eval/xquad
MODEL       := bot/models/destek.tar.gz
RASA_DATA   := bot/data/nlu bot/data/rules

export PYTHONPATH := $(CURDIR)
export DESTEK_KB_INDEX ?= $(KB_INDEX)
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

MODEL_INPUTS := config.yml domain.yml $(wildcard bot/data/nlu/*.yml bot/data/rules/*.yml bot/components/*.py intent_encoder/*.py) language/detect.py language/fold.py kb_index/embedders.py
KB_INPUTS    := $(shell find $(KB_SOURCE) -name '*.md' 2>/dev/null) $(wildcard kb_index/*.py language/*.py)

.PHONY: help setup browser run shell test test-unit test-postgres migrate bench-database test-stories lint validate train index eval-kb eval-public compare-models bench lock clean
.PHONY: test-nlu bench-nlu

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

setup: $(VENV)/.installed $(RASA_VENV)/.installed ## build both Python environments (idempotent)

$(VENV)/.installed: requirements/app.lock.txt
	@echo "==> building the application environment $(VENV) (Python 3.11; a few minutes the first time)"
	@[ -x $(PY) ] || { python=$$(scripts/find-python.sh 3.11) && $$python -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements/app.lock.txt
	touch $@

$(RASA_VENV)/.installed: requirements/rasa.lock.txt
	@echo "==> building the Rasa environment $(RASA_VENV) (Python 3.10; a few minutes the first time)"
	@[ -x $(RASA_VENV)/bin/python ] || { python=$$(scripts/find-python.sh 3.10) && $$python -m venv $(RASA_VENV); }
	$(RASA_VENV)/bin/python -m pip install -q --upgrade pip
	$(RASA_VENV)/bin/python -m pip install -q -r requirements/rasa.lock.txt
	touch $@

browser: ## Debian's Chromium and ChromeDriver for the browser tests (installed with apt-get when missing)
	@[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

$(MODEL): $(MODEL_INPUTS) $(VENV)/.installed $(RASA_VENV)/.installed
	@echo "==> training the Rasa model $(MODEL) (several minutes the first time: it fine-tunes the intent encoder, progress below)"
	$(RASA) train --config config.yml --domain domain.yml --data $(RASA_DATA) --out bot/models --fixed-model-name destek
	touch $@

$(KB_INDEX)/current.json: $(KB_INPUTS) $(VENV)/.installed
	@echo "==> building the knowledge-base index $(KB_INDEX) from $(KB_SOURCE)"
	$(PY) -m kb_index build --source $(KB_SOURCE) --out $(KB_INDEX)

train: $(MODEL) ## train the Rasa model (only when its inputs changed)

index: $(KB_INDEX)/current.json ## build the KB index (only when articles or code changed)

run: setup train index ## start Rasa (5005), actions (5055), demo shop (8000), fake Twilio; Ctrl-C stops all
	@echo "==> starting Rasa ($${RASA_PORT:-5005}), the action server ($${ACTION_PORT:-5055}), the support app ($${SUPPORT_PORT:-8000}), the campaign scheduler and (without TWILIO_ACCOUNT_SID) fake Twilio; \"Destek is running\" follows once they all answer"
	scripts/run.sh

shell: $(VENV)/.installed ## chat with the running bot in the terminal
	$(PY) -m scripts.chat

validate: setup ## check Rasa training data and the knowledge base
	$(RASA) data validate --config config.yml --domain domain.yml --data $(RASA_DATA) --fail-on-warnings
	$(PY) -m kb_index build --source $(KB_SOURCE) --out var/validate-index --model none --quiet
	$(PY) -m tuning lint-kb --source $(KB_SOURCE)

test: setup lint train index validate test-unit test-postgres test-stories ## everything CI runs: lint, data validation, pytest (SQLite and PostgreSQL), conversation tests

test-unit: setup browser nginx train index ## the whole suite with every support database on SQLite
	DESTEK_TEST_DATABASE=sqlite $(PY) -m pytest tests -q -m "not postgres" --durations=15

# The same suite again with every support database on PostgreSQL (DESTEK_TEST_DATABASE=postgres: each database a
# fresh schema on DESTEK_TEST_DATABASE_URL, default the local server's `test` database), plus the tests that need
# PostgreSQL whatever the switch (marker `postgres`: the two-scheduler crash test, the cluster). Left out: the tests
# that never open a support database, or only a hand-made SQLite file (docs/database.md: the list and why).
# Outside CI every test skips, with how to start PostgreSQL, when the server is not up; under CI=true the run stops.
POSTGRES_SKIP ?= tests/architecture tests/kb_index tests/intent_encoder tests/bench tests/bot/test_components.py \
  tests/bot/test_turn_cost.py tests/analytics/test_reader.py tests/analytics/test_aggregates.py tests/analytics/test_consumer.py \
  tests/analytics/test_consumer_rasa.py tests/cluster/test_shared_state.py tests/cluster/test_systemd_units.py \
  tests/connectors/test_rate_limit.py tests/connectors/test_webchat_token.py tests/privacy/test_redaction.py \
  tests/scripts/test_nlu_report.py tests/security/test_secrets_policy.py tests/support_app/console/test_inbox_template_text.py \
  tests/tuning/test_kb_lint.py tests/tuning/test_nlu_writer.py
POSTGRES_TESTS ?= tests $(addprefix --ignore=,$(POSTGRES_SKIP))
test-postgres: setup browser nginx train index ## the same suite with every support database on PostgreSQL (docs/database.md)
	DESTEK_TEST_DATABASE=postgres $(PY) -m pytest $(POSTGRES_TESTS) -q --durations=15

bench-database: setup ## per-operation cost of store writes and reads, SQLite vs PostgreSQL (docs/database.md)
	$(PY) bench/database_ops.py

migrate: $(VENV)/.installed ## bring the support database (DESTEK_DATABASE_URL, else DESTEK_DB) to the newest schema (Alembic)
	$(PY) -m storage.migrate upgrade

lint: $(VENV)/.installed ## ruff (style, import order, bugs), ruff format --check, mypy (types); settings in pyproject.toml
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m mypy

test-stories: train ## conversation tests; any prediction error fails
	$(RASA) test core --model $(MODEL) --stories tests/conversations --fail-on-prediction-errors --out var/rasa-test-results

eval-kb: index ## retrieval quality: recall@1/5, MRR per language, false answers
	$(PY) -m kb_index eval --index $(KB_INDEX) --queries $(KB_QUERIES) --cache var/kb-eval-cache/sample

eval-public: setup ## kb_index beside lexical baselines on XQuAD TR/EN (XQUAD_DIR, default ../shared/eval/xquad)
	$(PY) -m kb_index eval-public --xquad $(XQUAD_DIR) --cache var/kb-eval-cache

compare-models: setup ## evaluate every embedding set-up on the sample KB
	$(PY) bench/compare_embeddings.py --out var/compare

bench: setup train index ## latency, build time and memory benchmarks
	$(PY) bench/run_all.py

NLU_FOLDS ?= 3
NLU_REPORT ?= var/nlu-report
test-nlu: setup ## NLU cross-validation on bot/data/nlu: per-intent P/R/F1, confusion matrix in var/nlu-report/
	rm -rf $(NLU_REPORT)
	nice $(RASA) test nlu --nlu bot/data/nlu --config config.yml --cross-validation --folds $(NLU_FOLDS) --successes --out $(NLU_REPORT)
	$(PY) scripts/nlu_report.py $(NLU_REPORT)

bench-nlu: setup ## config.yml's NLU pipeline on BANKING77, CLINC150, Bitext, HWU64 (slow; not part of make test)
	nice $(RASA_VENV)/bin/python bench/nlu_benchmarks.py $(NLU_BENCH_ARGS)

lock: ## re-pin requirements/*.lock.txt from the current environments
	$(PY) -m pip freeze | sed 's/^torch==\(.*\)+cpu/torch==\1/' > requirements/app.lock.txt
	$(RASA_VENV)/bin/python -m pip freeze > requirements/rasa.lock.txt

clean: ## remove built models, indexes and local data (not the environments)
	rm -rf bot/models/*.tar.gz var

# --- tuning tools (issue #6, docs/staff-tools.md) ---
INTERACTIVE_PORT ?= 5006

.PHONY: interactive rasa-shell gaps
# Through scripts/rasa_cli.py: Rasa 3.6's interactive server (HTTP API without a token) and its
# story-graph page (port + 1) bind 127.0.0.1 unless DESTEK_EXPOSE names `interactive`.
interactive: setup train ## rasa interactive (learn from your own chats) with the action server running
	scripts/with-actions.sh $(RASA_VENV)/bin/python -m scripts.rasa_cli interactive --model $(MODEL) --config config.yml --domain domain.yml \
	  --data $(RASA_DATA) --endpoints endpoints.yml -p $(INTERACTIVE_PORT)

rasa-shell: setup train ## rasa shell (model loaded in-process, with the action server), no `make run` needed
	scripts/with-actions.sh $(RASA_VENV)/bin/python -m scripts.rasa_cli shell --model $(MODEL) --endpoints endpoints.yml -p $(INTERACTIVE_PORT)

gaps: setup ## KB gap report as CSV (var/gaps.csv): what customers asked that the KB did not answer
	$(PY) -m tuning gaps --out var/gaps.csv

# --- privacy (issue #15, docs/privacy-and-input.md) ---
.PHONY: retention
retention: $(VENV)/.installed ## delete transcripts and customer text older than DESTEK_RETENTION_DAYS (default 180)
	$(PY) -m privacy.retention

# --- learning from people (issue #17, docs/learning.md) ---
REPLAY_DAYS ?= 30
.PHONY: replay
replay: setup train index ## replay the last REPLAY_DAYS days (or INPUT=file.jsonl) through the model and index; AGAINST=model.tar.gz compares two models
	$(PY) -m replay run --days $(REPLAY_DAYS) $(if $(INPUT),--input $(INPUT)) $(if $(AGAINST),--against $(AGAINST))

# --- cluster profile (issue #16, docs/cluster.md) ---
.PHONY: nginx run-cluster
nginx: ## Debian's nginx, the load balancer of run-cluster and the cluster tests (apt-get when missing)
	@[ -x /usr/sbin/nginx ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; }

run-cluster: setup train index nginx ## 2 Rasa replicas + 2 action servers behind nginx, on PostgreSQL/Redis/RabbitMQ
	scripts/run-cluster.sh

# --- analytics from the event stream (issue #16, docs/analytics.md) ---
.PHONY: analytics-backfill analytics-consumer
analytics-backfill: $(VENV)/.installed ## rebuild the analytics aggregates from the tracker store (run once before the consumer)
	$(PY) -m analytics.backfill

analytics-consumer: $(VENV)/.installed ## keep the analytics aggregates from Rasa's events on RabbitMQ (Pika broker)
	$(PY) -m analytics.consumer
